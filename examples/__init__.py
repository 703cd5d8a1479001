"""The example tables shipped with levers, as the package `levers.examples` (pyproject maps it to this folder).

`${example:wage.csv}` in a config resolves to the installed file, whatever the working directory.
"""
