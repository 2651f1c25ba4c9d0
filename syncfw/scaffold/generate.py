"""Rendering the connector template (``template/``) for one connector name.

Template files end in ``.tmpl`` and are :class:`string.Template` text (``${class_name}``; ``$$`` is
a literal dollar sign); a path segment ``__package__`` becomes the package name. Other files are
copied as they are.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template

from syncfw.errors import ConfigError

TEMPLATE_DIR = Path(__file__).parent / "template"
_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
_LONGEST_NAME = 40


@dataclass(frozen=True)
class ConnectorNames:
    """Every spelling of a connector's name the template uses.

    Attributes:
        name: the connector name recipes write in ``connector:`` (``acme_crm``).
        package: the Python package (``syncfw_acme_crm``).
        distribution: the pip distribution (``syncfw-acme-crm``).
        class_name: the prefix of class names (``AcmeCrm``).
        env_prefix: the prefix of the sandbox's environment variables (``ACME_CRM``).
    """

    name: str
    package: str
    distribution: str
    class_name: str
    env_prefix: str

    @classmethod
    def of(cls, written: str) -> ConnectorNames:
        """Check the name as written and derive every spelling from it.

        Hyphens are taken for underscores, as project scaffolders do (``acme-crm`` names the
        connector ``acme_crm``, the package ``syncfw_acme_crm`` and the distribution
        ``syncfw-acme-crm``).

        Raises:
            ConfigError: the name is not lowercase letters, digits and single hyphens or
                underscores, starting with a letter, at most 40 characters, and not a Python keyword.
        """
        name = written.replace("-", "_")
        if not _NAME.fullmatch(name) or len(name) > _LONGEST_NAME or keyword.iskeyword(name):
            raise ConfigError(
                f"{written!r} cannot name a connector: use lowercase letters, digits and single "
                f"hyphens or underscores, starting with a letter, at most {_LONGEST_NAME} characters "
                "(e.g. 'acme-crm', which becomes the connector acme_crm, the package "
                "syncfw_acme_crm and the distribution syncfw-acme-crm)"
            )
        return cls(
            name=name,
            package=f"syncfw_{name}",
            distribution=f"syncfw-{name.replace('_', '-')}",
            class_name="".join(part.capitalize() for part in name.split("_")),
            env_prefix=name.upper(),
        )


def scaffold_connector(name: str, dest: Path) -> Path:
    """Write a complete connector distribution for ``name`` into ``dest/<distribution>/``
    (``acme-crm`` or ``acme_crm``: ``dest/syncfw-acme-crm/``).

    The distribution installs with ``pip install -e``, registers its connector and emulator
    through the ``syncfw`` entry point, and its tests (the acceptance kit) pass as generated.

    Returns:
        The new distribution's directory.

    Raises:
        ConfigError: ``name`` is not a valid connector name (see :meth:`ConnectorNames.of`), or
            the directory already exists (nothing is overwritten).
    """
    names = ConnectorNames.of(name)
    root = dest / names.distribution
    if root.exists():
        raise ConfigError(f"{root} already exists: choose another --dest or remove it first")
    values = asdict(names)
    for source in sorted(TEMPLATE_DIR.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        relative = source.relative_to(TEMPLATE_DIR).as_posix().replace("__package__", names.package)
        target = root / relative.removesuffix(".tmpl")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.name.endswith(".tmpl"):
            text = Template(source.read_text(encoding="utf-8")).substitute(values)
            target.write_text(text, encoding="utf-8")
        else:
            target.write_bytes(source.read_bytes())
    return root
