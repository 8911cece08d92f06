"""An HTML template for `dvc plots show` that renders without a network.

DVC's own page loads Vega, Vega-Lite and vega-embed from a CDN, so on an air-gapped machine
it shows nothing. This writes a template with the three libraries inlined, taken from the
npm registry's release tarballs (``npm pack``) and checked against pinned hashes; DVC uses
it through ``plots.html_template`` in ``.dvc/config.local``. setup.sh runs it and sets that.

    python -m emoser.reporting.offline_plots DIR_WITH_TGZ .dvc/plots/offline.html
"""
from __future__ import annotations

import argparse
import hashlib
import tarfile
from pathlib import Path

from emoser.core.errors import EmoserError
from emoser.core.files import atomic_path
from emoser.core.runtime import entry_point

# The versions DVC's own page asks the CDN for, and the sha256 of each bundle.
LIBRARIES = {
    "vega-5.20.2.tgz": ("package/build/vega.min.js",
                        "4794d0169cb1f3ebad8117fe98ba5bd652dd725905ec0384e832391dbccb03be"),
    "vega-lite-5.2.0.tgz": ("package/build/vega-lite.min.js",
                            "d73157451b3978015ab31dacd55ff90d986ab8663fc0abed50f97b3cd90002cb"),
    "vega-embed-6.18.2.tgz": ("package/build/vega-embed.min.js",
                              "1ba9826431ddc9805e815ad92acc811c819f2bfd32bda2a128b8c4b5070fab5e"),
}
NPM_SPECS = " ".join(name.removesuffix(".tgz").rsplit("-", 1)[0] + "@" + name.removesuffix(".tgz").rsplit("-", 1)[1]
                     for name in LIBRARIES)

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC Plot (offline)</title>
{inline_scripts}
    <style>
        table { border-spacing: 15px; }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def read_bundle(package: Path, member: str, sha256: str) -> str:
    try:
        with tarfile.open(package) as archive:
            member_file = archive.extractfile(member)
            if member_file is None:
                raise KeyError(f"{member} is not a file")
            data = member_file.read()
    except (OSError, tarfile.TarError, KeyError, AttributeError) as exc:
        raise EmoserError(f"{package}: cannot read {member} ({exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise EmoserError(f"{package}: {member} has sha256 {digest}, expected {sha256}")
    return data.decode("utf-8")


def build_template(bundles: list[str]) -> str:
    """The page, with each bundle in its own script tag; DVC fills {plot_divs} and {refresh_tag}."""
    # A literal "</script" inside a bundle would end the tag early.
    escaped = [js.replace("</script", "<\\/script") for js in bundles]
    scripts = "\n".join(f'    <script type="text/javascript">{js}</script>' for js in escaped)
    return PAGE.replace("{inline_scripts}", scripts)


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("packages", type=Path, help=f"folder with the tarballs of `npm pack {NPM_SPECS}`")
    parser.add_argument("out", type=Path, help="where to write the template")
    args = parser.parse_args(argv)
    bundles = [read_bundle(args.packages / name, member, sha) for name, (member, sha) in LIBRARIES.items()]
    with atomic_path(args.out) as tmp:
        tmp.write_text(build_template(bundles), encoding="utf-8")


if __name__ == "__main__":
    main()
