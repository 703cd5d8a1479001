"""levers' own config, shipped inside the package as `levers.conf` (pyproject maps it to this folder).

Hydra finds it through `pkg://levers.conf`, so a plain `pip install levers` trains from any directory.
"""
