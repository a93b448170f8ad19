"""Keep the IPFS content of a consortium of trusted members alive.

Each member publishes, under its IPNS name, a directory of JSON manifests listing the
CIDs it wants mirrored; every other member resolves that name and pins what is listed.
"""

__version__ = "0.1.0"
