"""jpegai_fd: detect synthetic face images from learned-codec (JPEG AI) latents."""

from jpegai_fd.config_resolvers import register as _register_resolvers
from jpegai_fd.schema import register as _register_schema

__version__ = "0.1.0"
_register_resolvers()  # before any config of this package is resolved
_register_schema()  # conf/config.yaml extends the schema stored in Hydra's ConfigStore
