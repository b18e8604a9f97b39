"""jpegai_fd: detect synthetic face images from learned-codec (JPEG AI) latents."""

from jpegai_fd.config_resolvers import register as _register_resolvers

__version__ = "0.1.0"
_register_resolvers()  # before any config of this package is resolved
