"""The command line: the third layer of the house, over the renderers and the library.

:mod:`cgcli.cli.app` assembles the Typer app from the command modules (one per group of
commands: :mod:`~cgcli.cli.grad`, :mod:`~cgcli.cli.language`, :mod:`~cgcli.cli.teach`,
:mod:`~cgcli.cli.exercises`); they share :mod:`~cgcli.cli.options` and
:mod:`~cgcli.cli.common` and never import the app. This package module stays empty, so
importing a command module does not assemble the app.
"""
