"""Lightning callbacks levers adds to the ones configured in the `callbacks` group."""
