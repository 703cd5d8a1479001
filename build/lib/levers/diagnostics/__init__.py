"""Finding out why a network will not train (practice guide, sections 5 and 9): LR range test, overfit check,
gradient check, and the training doctor."""
