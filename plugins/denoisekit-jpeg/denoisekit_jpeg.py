"""denoisekit plugin: JPEG compression artifacts.

Each image is encoded as JPEG at a quality (1 = worst, 100 = best) and decoded
again, which brings the 8x8 blocking, ringing around edges and color bleeding
that a deblocking model learns to remove. A ``lo:hi`` quality gives each image its
own integer quality, drawn uniformly from lo..hi inclusive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from denoisekit import Corruption, Param, hookimpl
from denoisekit.noise_ops import per_image

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["Jpeg", "register_corruptions"]

#: A fixed value, or a (lo, hi) range sampled per image.
Level = float | tuple[float, float]


class Jpeg(Corruption):
    """JPEG encode/decode round trip (TensorFlow's libjpeg), one quality per image."""

    name = "jpeg"
    description = "JPEG compression artifacts (blocking, ringing) at a quality 1..100, or lo:hi per image."
    params = (
        Param("quality", "range", 30.0, 1, 100,
              help="JPEG quality (lower is worse), or lo:hi for a random integer quality per image"),
    )

    def apply(self, images: tf.Tensor, seed: tf.Tensor, quality: Level = 30.0) -> tf.Tensor:
        import tensorflow as tf

        if isinstance(quality, tuple):  # integers lo..hi, each equally likely
            lo, hi = (int(round(q)) for q in quality)
            draw = per_image((float(lo), float(hi + 1)), images, seed)
            qualities = tf.minimum(tf.floor(draw), float(hi))
        else:
            qualities = per_image(float(round(quality)), images, seed)
        qualities = tf.cast(tf.reshape(qualities, [-1]), tf.int32)

        def compress(args: tuple[tf.Tensor, tf.Tensor]) -> tf.Tensor:
            image, q = args
            return tf.image.adjust_jpeg_quality(image, q, dct_method="INTEGER_ACCURATE")

        out = tf.map_fn(compress, (images, qualities), fn_output_signature=tf.float32)
        return tf.ensure_shape(out, images.shape)


@hookimpl
def register_corruptions(register: Callable[[object], None]) -> None:
    """Register the ``jpeg`` corruption."""
    register(Jpeg())
