"""cgcli in notebooks: results that display themselves (:mod:`.display`) and the IPython
magic ``%cgcli`` (:mod:`.magic`).

The top layer of the house: it uses the renderers, and the magic runs the command line.
Importing this package imports nothing: IPython only when the extension is loaded
(``%load_ext cgcli``).
"""
