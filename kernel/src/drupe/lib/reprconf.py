"""``drupe.lib.reprconf``: the config machinery (the kernel's ``_config``)."""

from drupe._config import (
    Config,
    NamespaceSet,
    as_dict,
    attributes,
    config_callable,
    modules,
    unrepr,
)
from drupe._configfile import Parser
