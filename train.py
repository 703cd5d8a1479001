"""Train with levers: `python train.py [group=option ...] [key=value ...]`; `--help` lists every lever."""

from levers.cli import train_entry

if __name__ == "__main__":
    train_entry()
