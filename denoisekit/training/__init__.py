"""Training denoisers: data sources, the tf.data patch pipeline, validation, the trainer."""

#: ``train --loss`` names (training/losses.py maps them to Keras losses) and ``--select``
#: figures, here so that the CLI can list them without importing Keras.
LOSS_NAMES = ("l1", "l2", "psnr", "ssim", "l1+ssim", "l2+ssim", "bce")
SELECT = ("psnr", "ssim")

#: ``train --self-supervised --method`` names (training/self_supervised.py); the first is the default.
METHODS = ("neighbor2neighbor", "noise2void")
#: ``train --augment``: none, horizontal flips, or all 8 flips and 90-degree rotations.
AUGMENTS = ("none", "flips", "dihedral")
#: ``train --schedule``: constant and then a decay over the run's last fifth, a cosine decay to 1%
#: over the run, or a constant rate (training/schedules.py).
SCHEDULES = ("wsd", "cosine", "constant")


class TrainingWarning(UserWarning):
    """Something in a training run the user should act on (the CLI prints it as one line)."""
