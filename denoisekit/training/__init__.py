"""Training denoisers: data sources, the tf.data patch pipeline, validation, the trainer."""

#: ``train --loss`` names (training/losses.py maps them to Keras losses) and ``--select``
#: figures, here so that the CLI can list them without importing Keras.
LOSS_NAMES = ("l1", "l2", "ssim", "l1+ssim", "l2+ssim")
SELECT = ("psnr", "ssim")

#: ``train --self-supervised --method`` names (training/self_supervised.py); the first is the default.
METHODS = ("neighbor2neighbor", "noise2void")
