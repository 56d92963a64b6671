"""Renderers: library results -> text, tables and pictures, one module per kind of result.

The second layer of the house: renderers import the library, never the command line. Only the
renderer a command needs is imported, so the JSON path never loads Rich.
"""
