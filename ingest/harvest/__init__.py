"""``kb harvest``: fetch publishers' feeds, sitemaps and listing pages into a local mirror that ``kb reindex`` reads.

- ``sources``: the sources file (``sources.yaml``), checked on load;
- ``fetch``: polite HTTP (robots.txt, a turn per host, conditional requests, Retry-After, limits);
- ``listings``: the items a feed, sitemap or listing page names;
- ``content``: what a fetched item is, checked against what it claims;
- ``mirror``: the folder of copies and sidecars, and the harvest's memory between runs;
- ``run``: one run over every source, and its report.
"""
