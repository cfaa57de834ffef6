"""``drupe._cpconfig``: CherryPy's module path for the config machinery.

``drupe._cpconfig.environments`` is the dict of named environments; add or change
entries there (as the documentation shows) before ``drupe.config.update``.
"""

from drupe._config import Config, NamespaceSet, environments, merge
