"""Builtin Keras architectures: the textbook bottleneck autoencoder, a residual U-Net, DnCNN."""

from __future__ import annotations

from typing import Any

from .. import hookimpl
from ..params import Param
from ..plugin_types import Architecture

HEADS = ("residual", "chroma")
HEAD_PARAM = Param("head", "str", "residual", choices=HEADS, help="residual: predict noise; chroma: colorize")
#: Corruptions that bias-free, L1-trained residual nets fail on: impulse noise is not zero-mean
#: and colorization predicts colour from nothing; under L1, "no change anywhere" is the median
#: answer and bias-free ReLU units can all die (denoisekit/bundled/RECIPE.md).
NEEDS_BIASES = ("salt-and-pepper", "grayscale")
PREFILL_PARAM = Param("prefill", "str", "none", choices=("none", "impulse", "directed"),
                      help="impulse: the network sees each impulse (pixel pure black or white) filled from "
                           "its clean neighbours, and where they are, and corrects that fill, changing no other pixel "
                           "(salt-and-pepper); directed: the same, the fill edge-directed where a clean pixel pair "
                           "is next to the impulse (train's default for salt-and-pepper)")
BIAS_PARAM = Param("bias", "bool", False,
                   help="biases in the convolutions: off for Gaussian noise (scales with the noise level); "
                        "train turns them on for impulse noise and colorization, where bias-free ReLU units "
                        "can all die, and for images mostly black or white (noise clipped there)")


class BottleneckAutoencoder(Architecture):
    name = "autoencoder"
    description = ("The textbook's conv autoencoder: strided convolutions, a dense latent vector, transposed "
                   "convolutions, a sigmoid output; one fixed size (28x28 digits).")
    params = (
        Param("size", "int", 28, 8, 256, help="input height and width (a multiple of 2**depth)"),
        Param("latent", "int", 16, 1, 4096, help="size of the latent vector"),
        Param("filters", "int", 32, 4, 256, help="filters of the first conv layer (doubling per layer)"),
        Param("depth", "int", 2, 1, 4, help="stride-2 conv layers (the chapter's colorization autoencoder: 3)"),
    )

    def build(self, channels: int, size: int = 28, latent: int = 16, filters: int = 32, depth: int = 2) -> Any:
        keras, layers = _keras()
        if size % 2**depth:
            raise ValueError(f"autoencoder size must be a multiple of {2**depth} (2**depth), not {size}")
        widths = [filters * 2**i for i in range(depth)]
        inputs = keras.Input((size, size, channels), name="noisy")
        x = inputs
        for width in widths:
            x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
        x = layers.Flatten()(x)
        code = layers.Dense(latent, name="latent")(x)
        side = size // 2**depth
        x = layers.Dense(side * side * widths[-1], activation="relu")(code)
        x = layers.Reshape((side, side, widths[-1]))(x)
        for width in reversed(widths):
            x = layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu")(x)
        outputs = layers.Conv2DTranspose(channels, 3, padding="same", activation="sigmoid", name="clean")(x)
        return keras.Model(inputs, outputs, name="autoencoder")

    def training_defaults(self, noise: str) -> dict[str, Any]:
        # The textbook's recipe: MSE (a Gaussian decoder; under L1 its sigmoid output on digits
        # collapses to black) and no augmentation (its dense latent learns whole, upright images).
        return {"loss": "l2", "augment": "none"}


def _keras() -> tuple[Any, Any]:
    # Imported on first build, so listing plugins does not start TensorFlow.
    from .. import layers as _registered  # noqa: F401  (quiet TF import, custom layers)
    import keras

    return keras, keras.layers


def _conv(x: Any, filters: int, name: str, bias: bool = False) -> Any:
    _, layers = _keras()
    # Bias-free by default: a Gaussian denoiser then scales with the noise and generalises
    # beyond the training range of noise levels (Mohan et al. 2020, DRUNet).
    return layers.Conv2D(filters, 3, padding="same", use_bias=bias, activation="relu", name=name)(x)


def _head(inputs: Any, channels: int, head: str) -> Any:
    """What the body sees: the image itself, or only its luminance for a chroma head."""
    from ..layers import Luma

    if head == "chroma":
        if channels != 3:
            raise ValueError("the chroma head (colorization) needs channels=3")
        return Luma(name="luma")(inputs)
    return inputs


def _output(inputs: Any, body_in: Any, prediction: Any, head: str) -> Any:
    """The clean image from the body's prediction: input minus predicted noise, or the
    input's luminance with predicted chroma. The prediction comes straight from the
    body's last convolution: a further linear layer after it would make a product of
    two weight matrices, whose gradient vanishes where both are small (a color model
    trained that way left its red channel noisy)."""
    from ..layers import LumaChromaToRGB

    _, layers = _keras()
    if head == "chroma":
        cbcr = layers.Rescaling(0.5)(layers.Activation("tanh", name="chroma")(prediction))
        return LumaChromaToRGB(name="clean")([body_in, cbcr])
    return layers.Subtract(name="clean")([inputs, prediction])


def _predicted_channels(channels: int, head: str) -> int:
    return 2 if head == "chroma" else channels


def _residual_defaults(noise: str) -> dict[str, Any]:
    """Gaussian-like noise: L1, bias-free (the toolkit's defaults). Impulse noise and colorization:
    biases and L2; colorization predicts chroma from luminance."""
    if noise not in NEEDS_BIASES:
        return {}
    params: dict[str, Any] = {"bias": True}
    if noise == "grayscale":
        params["head"] = "chroma"
    return {"loss": "l2", "arch_params": params}


class ResidualUNet(Architecture):
    name = "unet"
    description = ("Fully convolutional U-Net with skip connections and a residual (noise-predicting) output, "
                   "run at half resolution after space-to-depth for speed; any image size.")
    params = (
        Param("features", "int", 32, 4, 512, help="channels of the first level (doubling per level)"),
        Param("levels", "int", 3, 1, 6, help="resolution levels after the space-to-depth step"),
        Param("bottom", "int", 0, 0, 4096,
              help="channels of the lowest level, the cheapest per pixel (0: the doubling's); "
                   "train --init a model with more than its own grows it"),
        HEAD_PARAM,
        BIAS_PARAM,
        PREFILL_PARAM,
    )
    init_params = ("prefill", "bottom")

    def build(self, channels: int, features: int = 32, levels: int = 3, head: str = "residual",
              bias: bool = False, prefill: str = "none", bottom: int = 0) -> Any:
        from ..layers import DepthToSpace, ImpulseFill, SpaceToDepth

        keras, layers = _keras()
        inputs = keras.Input((None, None, channels), name="noisy")
        base = inputs  # what the residual output is subtracted from
        if prefill != "none":
            if head != "residual":
                raise ValueError(f"prefill={prefill} needs the residual head")
            base, impulses = ImpulseFill(pairs=prefill == "directed", name="impulse_fill")(inputs)
        body_in = _head(base, channels, head)
        x = SpaceToDepth(2, name="space_to_depth")(body_in)
        if prefill != "none":
            # The mask joins after the pixel shuffle, as channels appended at the end: a model
            # fine-tuned from one without it reads them with new, zero-started weights.
            mask = SpaceToDepth(2, name="mask_to_depth")(impulses)
            x = layers.Concatenate(name="with_mask")([x, mask])
        skips = []
        for level in range(levels):
            width = bottom if bottom and level == levels - 1 else features * 2**level
            if level:
                x = layers.Conv2D(width, 2, strides=2, use_bias=bias, activation="relu", name=f"down{level}")(x)
            x = _conv(x, width, f"enc{level}a", bias)
            x = _conv(x, width, f"enc{level}b", bias)
            skips.append(x)
        for level in reversed(range(levels - 1)):
            width = features * 2**level
            x = layers.Conv2DTranspose(width, 2, strides=2, use_bias=bias, activation="relu", name=f"up{level}")(x)
            x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
            x = _conv(x, width, f"dec{level}a", bias)
            x = _conv(x, width, f"dec{level}b", bias)
        x = layers.Conv2D(4 * _predicted_channels(channels, head), 3, padding="same", use_bias=False,
                          name="to_depth")(x)
        x = DepthToSpace(2, name="depth_to_space")(x)
        if prefill != "none":
            # Only the impulses change, in training as `clean` keeps the untouched pixels: the
            # loss then counts only what inference keeps, and no capacity goes to the identity.
            x = layers.Multiply(name="impulses_only")([x, impulses])
        return keras.Model(inputs, _output(base, body_in, x, head), name="unet")

    @staticmethod
    def size_multiple(levels: int = 3, **_: Any) -> int:
        return 2 * 2 ** (levels - 1)

    def training_defaults(self, noise: str) -> dict[str, Any]:
        defaults = _residual_defaults(noise)
        if noise == "salt-and-pepper":
            # Correct a fill of the impulses, change nothing else: 1.3-1.9 dB better on the
            # validation crops than the same U-Net seeing the impulses (RECIPE.md, stage 5).
            defaults["arch_params"]["prefill"] = "directed"
        return defaults


class DnCNN(Architecture):
    name = "dncnn"
    description = "Plain residual CNN (DnCNN-style, no batch norm) at full resolution (the bundled color Gaussian model)."
    params = (
        Param("features", "int", 48, 4, 512, help="channels of every hidden layer"),
        Param("depth", "int", 10, 3, 40, help="number of conv layers"),
        HEAD_PARAM,
        BIAS_PARAM,
    )

    def build(self, channels: int, features: int = 48, depth: int = 10, head: str = "residual",
              bias: bool = False) -> Any:
        keras, _ = _keras()
        inputs = keras.Input((None, None, channels), name="noisy")
        body_in = _head(inputs, channels, head)
        x = body_in
        for i in range(depth - 1):
            x = _conv(x, features, f"conv{i}", bias)
        x = keras.layers.Conv2D(_predicted_channels(channels, head), 3, padding="same", use_bias=False,
                                name="prediction")(x)
        return keras.Model(inputs, _output(inputs, body_in, x, head), name="dncnn")

    def training_defaults(self, noise: str) -> dict[str, Any]:
        return _residual_defaults(noise)


@hookimpl
def register_architectures(register):
    register(BottleneckAutoencoder())
    register(ResidualUNet())
    register(DnCNN())
