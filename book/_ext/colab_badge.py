"""Sphinx extension: the chapters' "Open In Colab" badge, served by the site itself.

Each chapter's title cell shows the badge image from colab.research.google.com, which is
what GitHub, Colab and Jupyter display. On the built site that image would need the
internet (offline it shows as a broken image), so this transform points it at the copy in
``site_static/colab-badge.svg``; Sphinx then copies the file into the site's ``_images/``.
"""

from docutils import nodes
from sphinx.transforms import SphinxTransform

REMOTE = "https://colab.research.google.com/assets/colab-badge.svg"
LOCAL = "/site_static/colab-badge.svg"  # from the book's root


class LocalColabBadge(SphinxTransform):
    default_priority = 10  # before Sphinx collects the images of the document

    def apply(self, **kwargs):
        for image in self.document.findall(nodes.image):
            if image["uri"] == REMOTE:
                image["uri"] = LOCAL


def setup(app):
    app.add_transform(LocalColabBadge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
