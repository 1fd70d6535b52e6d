"""Where every source comes from: archives, mirrors, checksums, licences. Declarative only.

Two origins exist for each source:

* ``original``: the archives as each dataset's authors release them;
* ``repack``: the HQ-SAM authors' bundles on the Hugging Face Hub (``DIS5K.zip``,
  ``cascade_psp.zip``, ``thin_object_detection.zip``), each shared by several
  sources; a source extracts only the members under its own prefixes.

A checksum is "known" only where one is published. Where none is, the download
records the hash it computed (see :mod:`hqseg.data.archives`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hqseg.errors import HqsegError

ORIGINS: tuple[str, ...] = ("original", "repack")
HUB_REPACK = "https://huggingface.co/sam-hq-team/sam-hq-training/resolve/main/data/"


@dataclass(frozen=True)
class Archive:
    """One downloadable file.

    Attributes:
        name: file name, also the name in the cache folder and on a ``--mirror``.
        gdrive_id: Google Drive file id, or ``""``.
        urls: plain HTTP(S) URLs (Hub files included), tried in order.
        sha256: published sha256 of exactly this file; a mismatch is an error.
        alt_sha256: unofficial hashes (other mirrors, third-party lists); a match counts as
            verified, a non-match is not an error by itself.
        size: published size in bytes, if any (informational).
    """

    name: str
    gdrive_id: str = ""
    urls: tuple[str, ...] = ()
    sha256: str = ""
    alt_sha256: tuple[str, ...] = ()
    size: int | None = None


@dataclass(frozen=True)
class ArchiveUse:
    """An archive as one source uses it: all members, or only those under ``members``."""

    archive: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceEntry:
    """Catalog entry of one source: metadata and the archives of each origin."""

    name: str
    title: str
    homepage: str
    licence: str
    citation: str
    original: tuple[ArchiveUse, ...]
    repack: tuple[ArchiveUse, ...] = ()
    notes: str = ""
    aliases: tuple[str, ...] = field(default=())

    def uses(self, origin: str) -> tuple[ArchiveUse, ...]:
        """The archives of ``origin``; raises :class:`HqsegError` if the origin has none."""
        if origin not in ORIGINS:
            raise HqsegError(f"unknown origin {origin!r}; choose one of {', '.join(ORIGINS)}")
        uses = self.original if origin == "original" else self.repack
        if not uses:
            raise HqsegError(f"source {self.name!r} has no {origin} archives (not in the repack)")
        return uses


_SAL = "http://saliencydetection.net/"
_ECSSD = "https://www.cse.cuhk.edu.hk/leojia/projects/hsaliency/data/ECSSD/"

ARCHIVES: dict[str, Archive] = {
    a.name: a
    for a in (
        # originals
        Archive("DIS5K.zip", gdrive_id="1jOC2zK0GowBvEt03B7dGugCRDVAoeIqq"),
        Archive("ThinObject5K.zip", gdrive_id="1yUSNCOPwbkEyrQYr5d2OtNjRMEbuQp7O"),
        Archive("fewshot_data.zip", gdrive_id="16TgqOeI_0P41Eh3jWQlxlRXG9KIqtMgI"),
        Archive("COIFT.zip", gdrive_id="1SapWK3yX2utscH8e-cJzQivp_Qp7IBQf"),
        Archive("HRSOD.zip", gdrive_id="1dLZTzQuDEuBICKtaRB03i1Mx9hOssxC4"),
        # ECSSD: no hash published by the authors; a third-party downloader lists the
        # ones below, so a match counts as verified but a non-match is not an error
        Archive(
            "images.zip",
            urls=(_ECSSD + "images.zip", _ECSSD.replace("https", "http") + "images.zip"),
            alt_sha256=("7d5dce1a21c6d82e2f9617c00ad7eae2de5ded9320e8c59a01b4c731d210ea47",),
            size=67766979,
        ),
        Archive(
            "ground_truth_mask.zip",
            urls=(
                _ECSSD + "ground_truth_mask.zip",
                _ECSSD.replace("https", "http") + "ground_truth_mask.zip",
            ),
            alt_sha256=("dc0a9f11f2adee2737d95b28f9567a0a5de33f78743447c097ceb4d42f281a31",),
            size=1571109,
        ),
        Archive(
            "MSRA10K_Imgs_GT.zip",
            urls=(
                "https://mftp.mmcheng.net/Data/MSRA10K_Imgs_GT.zip",
                "http://mftp.mmcheng.net/Data/MSRA10K_Imgs_GT.zip",
            ),
        ),
        Archive("DUTS-TR.zip", urls=(_SAL + "duts/download/DUTS-TR.zip",)),
        Archive("DUTS-TE.zip", urls=(_SAL + "duts/download/DUTS-TE.zip",)),
        Archive("DUT-OMRON-image.zip", urls=(_SAL + "dut-omron/download/DUT-OMRON-image.zip",)),
        Archive(
            "DUT-OMRON-gt-pixelwise.zip.zip",
            urls=(_SAL + "dut-omron/download/DUT-OMRON-gt-pixelwise.zip.zip",),
        ),
        # the HQ-SAM authors' repack (no checksums published by them; the
        # HarborYuan/HQSeg mirror publishes the ones below)
        Archive(
            "repack/DIS5K.zip",
            urls=(HUB_REPACK + "DIS5K.zip",),
            # the mirror's DIS5K.zip (5,666,215,233 bytes) differs from the official one
            alt_sha256=("d2a0b8d094f80ea266efcf0740e7528d695019a4ec108b34bd5966cc11aa39fe",),
        ),
        Archive(
            "cascade_psp.zip",
            urls=(HUB_REPACK + "cascade_psp.zip",),
            sha256="285c24016c1b6c4a7f0010b16fa345a52929a968b22bb19d1d2650c42624bdf6",
        ),
        Archive("thin_object_detection.zip", urls=(HUB_REPACK + "thin_object_detection.zip",)),
    )
}

_TO_TERMS = "CC BY-NC 4.0 (https://creativecommons.org/licenses/by-nc/4.0/)"
_SAL_TERMS = "research use only; no licence file published (see the project page)"

SOURCES: dict[str, SourceEntry] = {
    s.name: s
    for s in (
        SourceEntry(
            name="dis5k",
            title="DIS5K (dichotomous image segmentation)",
            homepage="https://xuebinqin.github.io/dis/index.html",
            licence="DIS5K terms of use (PDF shipped in the archive and on the project page): "
            "non-commercial research and education only",
            citation="Qin et al., Highly Accurate Dichotomous Image Segmentation, ECCV 2022",
            original=(ArchiveUse("DIS5K.zip"),),
            repack=(ArchiveUse("repack/DIS5K.zip"),),
            notes="splits: train=DIS-TR, val=DIS-VD, te1..te4=DIS-TE1..4",
            aliases=("dis_vd",),
        ),
        SourceEntry(
            name="thinobject5k",
            title="ThinObject-5K",
            homepage="https://github.com/liewjunhao/thin-object-selection",
            licence=_TO_TERMS,
            citation="Liew et al., Deep Interactive Thin Object Selection, WACV 2021",
            original=(ArchiveUse("ThinObject5K.zip"),),
            repack=(
                ArchiveUse("thin_object_detection.zip", ("thin_object_detection/ThinObject5K/",)),
            ),
            notes="list/{train,val,test}.txt name the masks; masks are alpha mattes",
        ),
        SourceEntry(
            name="fss1000",
            title="FSS-1000",
            homepage="https://github.com/HKUSTCV/FSS-1000",
            licence="no licence published",
            citation="Li et al., FSS-1000: A 1000-Class Dataset for Few-Shot Segmentation, "
            "CVPR 2020",
            original=(ArchiveUse("fewshot_data.zip"),),
            repack=(ArchiveUse("cascade_psp.zip", ("fss_all/",)),),
        ),
        SourceEntry(
            name="ecssd",
            title="ECSSD",
            homepage="https://www.cse.cuhk.edu.hk/leojia/projects/hsaliency/dataset.html",
            licence="research use; no licence file published",
            citation="Yan et al., Hierarchical Saliency Detection, CVPR 2013",
            original=(ArchiveUse("images.zip"), ArchiveUse("ground_truth_mask.zip")),
            repack=(ArchiveUse("cascade_psp.zip", ("ecssd/",)),),
        ),
        SourceEntry(
            name="msra10k",
            title="MSRA10K",
            homepage="https://mmcheng.net/msra10k/",
            licence="research use; see the project page",
            citation="Cheng et al., Global Contrast based Salient Region Detection, TPAMI 2015",
            original=(ArchiveUse("MSRA10K_Imgs_GT.zip"),),
            repack=(ArchiveUse("cascade_psp.zip", ("MSRA_10K/",)),),
        ),
        SourceEntry(
            name="duts",
            title="DUTS (TR + TE)",
            homepage="http://saliencydetection.net/duts/",
            licence=_SAL_TERMS,
            citation="Wang et al., Learning to Detect Salient Objects with Image-level "
            "Supervision, CVPR 2017",
            original=(ArchiveUse("DUTS-TR.zip"), ArchiveUse("DUTS-TE.zip")),
            repack=(ArchiveUse("cascade_psp.zip", ("DUTS-TR/", "DUTS-TE/")),),
            notes="splits: train=DUTS-TR, test=DUTS-TE (in the official training data)",
        ),
        SourceEntry(
            name="dut_omron",
            title="DUT-OMRON",
            homepage="http://saliencydetection.net/dut-omron/",
            licence=_SAL_TERMS,
            citation="Yang et al., Saliency Detection via Graph-Based Manifold Ranking, CVPR 2013",
            original=(
                ArchiveUse("DUT-OMRON-image.zip"),
                ArchiveUse("DUT-OMRON-gt-pixelwise.zip.zip"),
            ),
            notes="named in the paper; not in the repack",
        ),
        SourceEntry(
            name="coift",
            title="COIFT",
            homepage="https://github.com/liewjunhao/thin-object-selection",
            licence="research use; see the project page",
            citation="Mansilla and Miranda, Image Foresting Transform with Geodesic Star "
            "Convexity for Interactive Image Segmentation (COIFT); "
            "subset as released by Liew et al., WACV 2021",
            original=(ArchiveUse("COIFT.zip"),),
            repack=(ArchiveUse("thin_object_detection.zip", ("thin_object_detection/COIFT/",)),),
        ),
        SourceEntry(
            name="hrsod",
            title="HRSOD (thin-object-selection subset)",
            homepage="https://github.com/yi94code/HRSOD",
            licence="research use; see the project page",
            citation="Zeng et al., Towards High-Resolution Salient Object Detection, ICCV 2019",
            original=(ArchiveUse("HRSOD.zip"),),
            repack=(ArchiveUse("thin_object_detection.zip", ("thin_object_detection/HRSOD/",)),),
            notes="original masks hold object ids (1, 2, ...), the repack's masks_max255 0/255",
        ),
    )
}


def resolve_name(name: str) -> tuple[str, str]:
    """Map a user-given source name (or alias) to its catalog name.

    Returns:
        ``(name, note)``; ``note`` explains an alias (empty otherwise).

    Raises:
        HqsegError: unknown name, listing the known ones.
    """
    key = name.strip().lower()
    if key in SOURCES:
        return key, ""
    for entry in SOURCES.values():
        if key in entry.aliases:
            return entry.name, f"{key!r} is part of {entry.name!r} (its 'val' split)"
    known = ", ".join(sorted(SOURCES))
    raise HqsegError(f"unknown source {name!r}; known sources: {known}")


def source_entry(name: str) -> SourceEntry:
    """The catalog entry for ``name`` (aliases accepted)."""
    return SOURCES[resolve_name(name)[0]]


def archive_file_name(archive: str) -> str:
    """The file name of an archive key (``repack/DIS5K.zip`` -> ``DIS5K.zip``)."""
    return archive.rsplit("/", 1)[-1]
