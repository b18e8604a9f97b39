from jpegai_fd.encoders.jpegai.encoder import JPEGAIEncoder
from jpegai_fd.encoders.jpegai.settings import TABLE_RATES, JPEGAISettings

__all__ = ["JPEGAIEncoder", "JPEGAISettings", "TABLE_RATES"]
