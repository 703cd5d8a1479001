"""`python -m levers [command] [overrides...]`: the same entry as the `levers` console script."""

from levers.cli import main

if __name__ == "__main__":
    main()
