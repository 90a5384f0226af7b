"""Training denoisers: data sources, the tf.data patch pipeline, validation, the trainer."""

#: ``train --loss`` names (training/losses.py maps them to Keras losses) and ``--select``
#: figures, here so that the CLI can list them without importing Keras.
LOSS_NAMES = ("l1", "l2", "ssim", "l1+ssim", "l2+ssim", "bce")
SELECT = ("psnr", "ssim")

#: ``train --self-supervised --method`` names (training/self_supervised.py); the first is the default.
METHODS = ("neighbor2neighbor", "noise2void")
#: ``train --augment``: none, horizontal flips, or all 8 flips and 90-degree rotations.
AUGMENTS = ("none", "flips", "dihedral")
#: ``train --schedule``: the learning rate's cosine decay to 1% over the run, a constant rate, or
#: constant and then a decay over the run's last fifth (training/schedules.py).
SCHEDULES = ("cosine", "constant", "wsd")


class TrainingWarning(UserWarning):
    """Something in a training run the user should act on (the CLI prints it as one line)."""
