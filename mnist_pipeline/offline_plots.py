"""Write the HTML template that makes `dvc plots show` render without a network.

DVC's default page loads vega, vega-lite and vega-embed from a CDN, so offline every chart is
blank. This template inlines all three, taken from the pinned `vl-convert-python` package (one
self-contained script that defines `vega`, `vegaLite` and `vegaEmbed`). `.dvc/config` points
`plots.html_template` at `.dvc/offline_plots.html`, which is committed, so that `dvc plots show`
works straight after `git clone`; a test checks that it is what this module writes. After
upgrading vl-convert-python, write it again:

    python -m mnist_pipeline.offline_plots .dvc/offline_plots.html
"""

import sys
from pathlib import Path

from mnist_pipeline.files import write_bytes

# DVC replaces {plot_divs} with the charts. With no {scripts} placeholder it adds no CDN tags.
TEMPLATE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>DVC plots</title>
<style>
  body {{ font-family: sans-serif; margin: 1em 2em; }}
  table {{ border-spacing: 1em; }}
  img {{ max-width: 100%; }}
</style>
<script>
{bundle}
</script>
</head>
<body>
{{plot_divs}}
</body>
</html>
"""


def page() -> bytes:
    import vl_convert

    bundle = vl_convert.javascript_bundle()
    # A literal "</script>" inside the bundle would end the tag early.
    bundle = bundle.replace("</script>", "<\\/script>")
    return TEMPLATE.format(bundle=bundle).encode()


if __name__ == "__main__":
    write_bytes(Path(sys.argv[1]), page())
