"""``sfdx-project.json``: the one JSON file of an SFDX project, read into a typed value.

The Salesforce CLI reads it to find the package directories (where the metadata lives) and
the API version to deploy with. It is checked as strictly as the XML: an unknown key is
more likely a typo (``packageDirectory``) than a setting, and a missing or misplaced
package directory would make the deploy command upload nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.org.errors import BundleError

PROJECT_FILE = "sfdx-project.json"

#: The keys of the Salesforce CLI's sfdx-project.json schema.
KNOWN_KEYS = frozenset(
    {
        "name",
        "namespace",
        "oauthLocalPort",
        "packageAliases",
        "packageDirectories",
        "plugins",
        "pushPackageDirectoriesSequentially",
        "registryPresets",
        "replacements",
        "sfdcLoginUrl",
        "signupTargetLoginUrl",
        "sourceApiVersion",
        "sourceBehaviorOptions",
    }
)
_API_VERSION = re.compile(r"\d{2,3}\.0")


@dataclass(frozen=True)
class PackageDirectory:
    """A folder of source-format metadata (``force-app``), relative to the project."""

    path: str
    default: bool


@dataclass(frozen=True)
class SfdxProject:
    root: Path
    name: str | None
    namespace: str
    source_api_version: str | None
    package_directories: tuple[PackageDirectory, ...]

    def directories(self) -> list[Path]:
        """The package directories as paths under the project root."""
        return [self.root / directory.path for directory in self.package_directories]


def _fail(path: Path, problem: str) -> BundleError:
    return BundleError(f"{path}: {problem}")


def _string(data: dict[str, Any], key: str, path: Path) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _fail(path, f'"{key}" must be a string')
    return value


def _package_directory(entry: object, root: Path, path: Path) -> PackageDirectory:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        raise _fail(path, 'each of "packageDirectories" needs a "path" string')
    relative = str(entry["path"])
    default = entry.get("default", False)
    if not isinstance(default, bool):
        raise _fail(path, f'"default" of package directory {relative!r} must be true or false')
    resolved = (root / relative).resolve()
    if Path(relative).is_absolute() or not resolved.is_relative_to(root.resolve()):
        raise _fail(path, f"package directory {relative!r} must be a folder inside the project")
    if not resolved.is_dir():
        raise _fail(path, f"package directory {relative!r} does not exist")
    return PackageDirectory(path=relative, default=default)


def load_project(root: Path) -> SfdxProject:
    """The project at ``root``, or a :class:`BundleError` naming the file and the fix."""
    path = root / PROJECT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{root}: no {PROJECT_FILE}; an SFDX project needs one") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(path, f"cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise _fail(path, f"line {error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise _fail(path, "must hold a JSON object")
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise _fail(
            path, f"unknown key {unknown[0]!r} (the keys are {', '.join(sorted(KNOWN_KEYS))})"
        )
    entries = data.get("packageDirectories")
    if not isinstance(entries, list) or not entries:
        raise _fail(path, '"packageDirectories" must list at least one folder')
    directories = tuple(_package_directory(entry, root, path) for entry in entries)
    defaults = [d for d in directories if d.default]
    if len(directories) > 1 and len(defaults) != 1:
        raise _fail(path, 'exactly one of "packageDirectories" must be "default": true')
    version = _string(data, "sourceApiVersion", path)
    if version is not None and not _API_VERSION.fullmatch(version):
        raise _fail(path, f'"sourceApiVersion" {version!r} must look like 62.0')
    return SfdxProject(
        root=root,
        name=_string(data, "name", path),
        namespace=_string(data, "namespace", path) or "",
        source_api_version=version,
        package_directories=directories,
    )
