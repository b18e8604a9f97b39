"""jpegai_fd: detect synthetic face images from learned-codec (JPEG AI) latents."""

from jpegai_fd.config import register as _register

__version__ = "0.1.0"
_register()  # the schema conf/config.yaml extends, and the resolvers it uses
