"""Training denoisers: data sources, the tf.data patch pipeline, validation, the trainer."""
