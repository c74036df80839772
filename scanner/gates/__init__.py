"""Gates turn engine results into findings; the pipeline folds them into a verdict."""
