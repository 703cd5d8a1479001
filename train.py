"""Train with levers: `python train.py [group=option ...] [key=value ...]`; `--help` lists every lever."""

from levers.cli import main

if __name__ == "__main__":
    main()
