"""The real package imports two pybind11 extensions here; the fake checks that their files exist."""

import os
import sysconfig

_HERE = os.path.dirname(os.path.abspath(__file__))
for _sub, _stem in (("mans", "ans"), ("direct", "ec_direct")):
    _path = os.path.join(_HERE, "lib_wrappers", _sub, _stem + sysconfig.get_config_var("EXT_SUFFIX"))
    if not os.path.exists(_path):
        raise ImportError(
            "No module named %r" % _stem, name="src.codec.entropy_coding.lib_wrappers.%s.%s" % (_sub, _stem)
        )
