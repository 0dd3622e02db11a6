"""Where the data comes from: one ``Source`` per upstream file, and the mirror rewrite.

Sources are configuration, not code: adding one is an entry here plus a parser. Every URL can
be redirected to a mirror base URL (``https://H/P`` -> ``MIRROR/H/P``) so that tests and
offline machines fetch the same bytes from a loopback copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from obsscale.exceptions import ConfigError

MIRROR_ENV = "OBSSCALE_MIRROR"

OBSSCALING_COMMIT = "4d6e1e43fd2635d04654aa77d1df9d5266ea0382"
LEADERBOARD_COMMIT = "0f4e5c69c6fb6515afa31ae61f4d699649bc9503"
EPOCH_HUB_COMMIT = "f87d3cc8e8a8f8471be475ebce58fb9a73b4e756"
_OBSSCALING = (
    f"https://raw.githubusercontent.com/ryoungj/ObsScaling/{OBSSCALING_COMMIT}/eval_results/"
)
_LEADERBOARD = (
    f"https://raw.githubusercontent.com/fboulnois/llm-leaderboard-csv/{LEADERBOARD_COMMIT}/csv/"
)
_EPOCH_HUB = (
    f"https://raw.githubusercontent.com/epoch-research/benchmark-stitching/{EPOCH_HUB_COMMIT}/data/"
)

# Leaderboard v2's tasks: the table's key -> the display name of the score column
V2_TASKS = {
    "ifeval": "IFEval",
    "bbh": "BBH",
    "math": "MATH Lvl 5",
    "gpqa": "GPQA",
    "musr": "MUSR",
    "mmlu_pro": "MMLU-PRO",
}

_NAME_RE = re.compile(r"^[a-z0-9_]+$")
_COMMIT_RE = re.compile(r"/[0-9a-f]{40}/")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_MIRROR_RE = re.compile(r"^https?://[^/\s:]+(:\d+)?(/\S*)?$")


@dataclass(frozen=True)
class Source:
    """One upstream file: where it lives, how to check it, and which parser reads it.

    ``name`` is both the key in the manifest and the file's folder under ``raw/``; it is a
    config identifier (never an upstream string), so it is safe as a path component.
    ``required`` lists columns (CSV) or keys (JSON) whose absence means the format changed.
    A URL pinned to a commit (a 40-hex path segment) names one exact file, so it must carry
    that file's ``sha256``: anything else (a body cut at a record boundary, an altered copy)
    is refused by fetch. Unpinned (live) sources have no hash; the shrink guard protects them.
    """

    name: str
    url: str
    parser: str
    kind: str = "csv"  # "csv" or "json"
    required: tuple[str, ...] = ()
    min_rows: int = 1
    # the file's last record ends with a line break (a missing one then means truncation);
    # the Epoch hub's files end without one, so only the length and CSV checks apply there
    terminated: bool = True
    sha256: str | None = None

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"source name {self.name!r} must match {_NAME_RE.pattern}")
        if self.kind not in ("csv", "json"):
            raise ValueError(f"source {self.name}: kind must be 'csv' or 'json', not {self.kind!r}")
        if self.sha256 is not None and not _SHA256_RE.match(self.sha256):
            raise ValueError(f"source {self.name}: sha256 must be 64 lower-case hex digits")
        if self.pinned and self.sha256 is None:
            raise ValueError(
                f"source {self.name}: {self.url} is pinned to a commit, so it needs the "
                "file's sha256 (sha256sum of a good copy)"
            )

    @property
    def pinned(self) -> bool:
        """Whether the URL names one commit's file (so that its bytes never change)."""
        return bool(_COMMIT_RE.search(self.url))

    @property
    def filename(self) -> str:
        """Local file name: the URL's last path segment, reduced to safe characters."""
        base = self.url.rstrip("/").rsplit("/", 1)[-1]
        return re.sub(r"[^A-Za-z0-9._-]", "_", base) or "download"


_OBS_COLUMNS = (
    "Model",
    "Model Family",
    "Model Size (B)",
    "Pretraining Data Size (T)",
    "FLOPs (1E21)",
)

# Epoch AI's Benchmarking Hub: which ``external_benchmark_<table>.csv`` files to download. How
# each is read (score column, scale, display name, or why it is skipped) is declared per table
# in ``obsscale/data/curated/hub.toml``; all of them share one parser.
EPOCH_HUB_TABLES: tuple[str, ...] = (
    "aider_polyglot", "anli", "arc_agi", "arc_ai2", "balrog", "bbh", "boolq", "cadeval",
    "csqa2", "cybench", "deepresearch", "factorio_learning_environment", "fictionlivebench",
    "geobench", "gsm8k", "gso_bench", "hellaswag", "lambada", "lech_mazur_writing", "livebench",
    "mcbench", "metr", "mmlu", "openbookqa", "os_world", "osuniverse", "piqa", "scienceqa",
    "simple_bench", "superglue", "terminal_bench", "the_agent_company", "triviaqa", "videomme",
    "vpct", "weirdml", "winogrande",
)  # fmt: skip

# sha256 of each pinned hub file (the commit's bytes never change; anything else is refused)
EPOCH_HUB_SHA256: dict[str, str] = {
    "benchmarks_runs.csv": "5907dfcbd446aeec61d20a0d971be3b6ca07ecf46f40ada3a4b8e26a656b70a8",
    "model_versions.csv": "08025ffc7b5c00781dd86ef5261f38b2204ed6d5b36160c61af3d9c8da9a10e6",
    "external_benchmark_aider_polyglot.csv": "020086010f6bdd3bff393ef3dd35a772436415226f0e502b1148a0047243e0cc",
    "external_benchmark_anli.csv": "6f455864562b479a5976b27b7f467a30eff58c96e9bc2d6aafdedb8f383d4650",
    "external_benchmark_arc_agi.csv": "4b227f7d3d4f7205f331cc8b38da6ebb93354fc554360e8bb7838012274de7c3",
    "external_benchmark_arc_ai2.csv": "73d2913f18b3541d4ef1632bbe1159db26ba7cff22bc57164a69447944db7208",
    "external_benchmark_balrog.csv": "5292e9d495e27d24c974bdee085d8f61950b435d963420cfd0446903d088dcc2",
    "external_benchmark_bbh.csv": "952840e40e7be7ed16ab9c6a7b1ec8d6e0798d2d8a2d0a8e7a82f4cd371a5bc2",
    "external_benchmark_boolq.csv": "3358a1412a446b585c4b336cf2ff570e8c22939f650df5cf3fa40678bfb4678a",
    "external_benchmark_cadeval.csv": "73a02a913b76378bec0ab82171fc9ab9e20986cbc9ee5e02d4f2cc8dd077ed00",
    "external_benchmark_csqa2.csv": "80ec45c44ceb5e49b581cafe2972eb3341f4e3d8d5e9930817a1f572d1b3df49",
    "external_benchmark_cybench.csv": "c2f691d9da3112f483785bc01e6d6f94e5565b8dcbb222ecf5702de22e2e372d",
    "external_benchmark_deepresearch.csv": "45636c6da16389aefb62f9e9331875ffd8ddc84fad8adba33118191f3137672a",
    "external_benchmark_factorio_learning_environment.csv": "d17880ea192747e15417ad5c429fbae2ae019e5695929875eea87d8139641352",
    "external_benchmark_fictionlivebench.csv": "67d0128f067410e45337f1df5458c2719dd48ead985502c86a1a5659edc5754d",
    "external_benchmark_geobench.csv": "ef546f421267e903757e6e2931d39255dfc461521921c75a84b84dabbced01de",
    "external_benchmark_gsm8k.csv": "8606ddd2cd8cbedd3aad9efadc76e45e7b3db9a053c0ddad0fe86427862e3ca5",
    "external_benchmark_gso_bench.csv": "d2592c18feec9ead53892ed7902a5818a418bb0b9cec45eb25514f28e99e3459",
    "external_benchmark_hellaswag.csv": "6e812925ca86fddcb3faf0c3f5b9cc44c6e00890aeda99bde98d96179b89eaae",
    "external_benchmark_lambada.csv": "8b003e7626585053bfdead814489b662f3d340907877e71f7834cd0d3a4a9e7f",
    "external_benchmark_lech_mazur_writing.csv": "60cdcf595807204610be50e48c397ba27f133ce41a87c6a86430a7015227233c",
    "external_benchmark_livebench.csv": "a816646abde0bda45a8118fc253842fb333b3df8215b26794c1f2c451da08414",
    "external_benchmark_mcbench.csv": "f5f57c9e01e9f02be7e56bc4228fb2cb86bc523fcebe5cce6a70d14c95aab163",
    "external_benchmark_metr.csv": "9665b4f6a2d5a2cfe0600b8afbdf126eafc9e2c6e7435474d96044202c390953",
    "external_benchmark_mmlu.csv": "6bd3bb6d9eba5d841d905a9dd56ac11650da7563c6c1efab5c03d3929bff05a8",
    "external_benchmark_openbookqa.csv": "deb1cdaf00be63c99dbcfda0fd4abaea6649354a4a05113fd6474dde49dac323",
    "external_benchmark_os_world.csv": "0ce84c19eab4b9df4d1e7733a214f410e450731f0027cf63cf9162992aa665c8",
    "external_benchmark_osuniverse.csv": "12e2635a7da3e1d6d6bde7a52860b4ae5724fd980f6fa4556186d54e7ea4df59",
    "external_benchmark_piqa.csv": "dd2ffd7ba5aae9a84bff2f45700a401611ffc19d69194952ffc13e623c3e3a16",
    "external_benchmark_scienceqa.csv": "01853dc4f43c3f711727dafdbfec581b78631314f95578dd72fcfe72cb12d031",
    "external_benchmark_simple_bench.csv": "b299fc36d0a20733e67e46ec579e2e5109bc8b240fa1e7a5bcb5419cf34f103c",
    "external_benchmark_superglue.csv": "66d09c3c47db5ca6e30e05e3c2284a526fec2e4d4c0ee87d5d3f69f93d542b56",
    "external_benchmark_terminal_bench.csv": "345a38e18b2c17e7f5c92dd8d3fd462b551c43791b1bea31c800395e50da077e",
    "external_benchmark_the_agent_company.csv": "56bd6c5404a8cd766b5f6bd87dfd0b2f2d79c663e145ce0700bb7ce1a04abfca",
    "external_benchmark_triviaqa.csv": "c1f3489eb3faa7830d3378b531783c9010e530ea49f0d814eba76158bbd5f4a9",
    "external_benchmark_videomme.csv": "440fb4ec0cee1b4c0e64729d089825dd711c5fdc7dcec8a74d214ce60b209862",
    "external_benchmark_vpct.csv": "88818218a894b26b1232bdf6af1f7062f3b5faed8c796b13a4b95b2ab84a42d7",
    "external_benchmark_weirdml.csv": "83f5daf7a1685db0d07f4d5052533f42e0913717b2733a395f8ba25c55613000",
    "external_benchmark_winogrande.csv": "53c7ed0d229d5566166bb7ddb19764bda7000bb59603e727f16e8626de071445",
}

EPOCH_HUB_SOURCES: tuple[Source, ...] = (
    Source(
        "epoch_hub_runs",
        _EPOCH_HUB + "benchmarks_runs.csv",
        "epoch_hub_runs",
        required=("model", "task", "Best score (across scorers)"),
        min_rows=10,
        terminated=False,
        sha256=EPOCH_HUB_SHA256["benchmarks_runs.csv"],
    ),
    *(
        Source(
            f"epoch_hub_{t}",
            _EPOCH_HUB + f"external_benchmark_{t}.csv",
            "epoch_hub_external",
            required=("Model version",),
            terminated=False,
            sha256=EPOCH_HUB_SHA256[f"external_benchmark_{t}.csv"],
        )
        for t in EPOCH_HUB_TABLES
    ),
    Source(
        "epoch_hub_versions",
        _EPOCH_HUB + "model_versions.csv",
        "epoch_hub_versions",
        required=("id", "Model", "Version release date", "Hugging Face developer id"),
        min_rows=10,
        terminated=False,
        sha256=EPOCH_HUB_SHA256["model_versions.csv"],
    ),
)

DEFAULT_SOURCES: tuple[Source, ...] = (
    Source(
        "obsscaling_base",
        _OBSSCALING + "base_llm_benchmark_eval.csv",
        "obsscaling",
        required=_OBS_COLUMNS,
        min_rows=10,
        sha256="511996815735a4c46251dc585dcc525e370d148201f86561e6f927f9df2d0db8",
    ),
    Source(
        "obsscaling_sub10b",
        _OBSSCALING + "base_llm_benchmark_eval_sub_10b.csv",
        "obsscaling",
        required=_OBS_COLUMNS,
        min_rows=10,
        sha256="6a5fe6143b1fd86c2c10368de05e204c89ab6652b0f7e97c4965c37bff360d1d",
    ),
    Source(
        "obsscaling_post",
        _OBSSCALING + "base_llm_post_training_eval.csv",
        "obsscaling_post",
        required=("Model",),
        min_rows=10,
        terminated=False,  # the upstream file ends without a final line break
        sha256="797e7e50c6ac54960e28447884b78bf9821b297646741b4485152715fe7fdbe5",
    ),
    Source(
        "obsscaling_instruct",
        _OBSSCALING + "instruct_llm_benchmark_eval.csv",
        "obsscaling_instruct",
        required=_OBS_COLUMNS,
        min_rows=5,
        sha256="9bc50f327f4e436b15a6d6e3edb8b4837e726b295a1c72d44fadb9c9d25a75ba",
    ),
    Source(
        "openllm_v1",
        _LEADERBOARD + "huggingface_v1.csv",
        "openllm_v1",
        required=(
            "fullname",
            "arc",
            "hellaswag",
            "mmlu",
            "truthfulqa",
            "winogrande",
            "gsm8k",
            "type",
            "precision",
            "merged",
            "flagged",
            "params_b",
            "date",
        ),
        min_rows=100,
        sha256="d8f1d5480ea3086a4b640e45eae5837464ee8d61815c202ad0dc1a616c5e5b40",
    ),
    Source(
        "openllm_v2",
        _LEADERBOARD + "huggingface_v2.csv",
        "openllm_v2",
        required=(
            "model_name",
            "model_precision",
            "model_type",
            "model_weight_type",
            "model_has_chat_template",
            "features_is_merged",
            "features_is_flagged",
            "metadata_upload_date",
            "metadata_submission_date",
            "metadata_base_model",
            "metadata_params_billions",
            *(f"evaluations_{k}_value" for k in V2_TASKS),
        ),
        min_rows=100,
        sha256="47b36fd5731d66e431b8c5bc2f099d46c849e790a4ad380bb6618889d07a43de",
    ),
    Source(
        "epoch",
        "https://epoch.ai/data/notable_ai_models.csv",
        "epoch",
        required=("Model", "Publication date", "Parameters", "Training compute (FLOP)"),
        min_rows=100,
    ),
    Source(
        "evalplus",
        "https://evalplus.github.io/results.json",
        "evalplus",
        kind="json",
        # key paths of the entries (``pass@1.humaneval+``: key humaneval+ of pass@1)
        required=(
            "size",
            "link",
            *(f"pass@1.{b}" for b in ("humaneval", "humaneval+", "mbpp", "mbpp+")),
        ),
        min_rows=10,
    ),
    *EPOCH_HUB_SOURCES,
)


def resolve_url(url: str, mirror: str | None) -> str:
    """Rewrite ``https://H/P`` to ``MIRROR/H/P`` so every source can be served from a mirror."""
    if not mirror:
        return url
    if not _MIRROR_RE.match(mirror):
        raise ConfigError(
            f"mirror URL {mirror!r} (--mirror or ${MIRROR_ENV}) is not a URL: a mirror URL "
            "looks like http://HOST[:PORT][/PATH], e.g. http://127.0.0.1:8765, and serves "
            "https://H/P as MIRROR/H/P"
        )
    m = re.match(r"^https?://(.+)$", url)
    if not m:
        raise ValueError(f"cannot mirror non-HTTP URL {url!r}")
    return mirror.rstrip("/") + "/" + m.group(1)
