"""Small hand-written stand-ins for each upstream file, with the quirks of the real ones."""

from __future__ import annotations

import json
from pathlib import Path

from obsscale.config import Config

OBS_HEADER = (
    "Model,Model Family,Model Size (B),Pretraining Data Size (T),FLOPs (1E21),"
    "MMLU,ARC-C,HellaSwag,Winograd,TruthfulQA,GSM8K,XWinograd,HumanEval\n"
)
OBS_BASE = OBS_HEADER + (
    "meta-llama/Llama-2-7b-hf,Llama-2,7.0,2.0,84.0,0.44,0.53,0.78,0.74,0.39,0.14,0.75,0.13\n"
    "meta-llama/Llama-2-13b-hf,Llama-2,13.0,2.0,156.0,0.54,0.58,0.81,0.77,0.34,0.23,0.79,0.18\n"
    "EleutherAI/pythia-1b-deduped,Pythia,1.0,0.3,1.8,0.25,0.29,0.49,0.53,0.39,0.01,0.6,0.0\n"
    "mistralai/Mistral-7B-v0.1,Mistral,7.3,,,0.62,0.6,0.83,0.78,0.42,0.37,0.8,0.28\n"
    "cerebras/btlm-3b-8k-base,BTLM,3.0,627.0,11286.0,0.27,0.4,0.7,0.66,0.36,0.03,0.7,\n"
    "org/tiny,Tiny,0.1,0.002,,0.23,0.2,0.3,0.5,0.45,0.0,0.5,0.0\n"
)
OBS_SUB10B = OBS_HEADER + (
    "meta-llama/Llama-2-7b-hf,Llama-2,7.0,2.0,84.0,0.60,0.53,0.78,0.74,0.39,0.14,0.75,0.13\n"
    "EleutherAI/pythia-1b-deduped,Pythia,1.0,0.3,1.8,0.25,0.29,0.49,0.53,0.39,0.01,0.6,0.0\n"
)
OBS_INSTRUCT = (
    "Model,Model Family,Model Size (B),Pretraining Data Size (T),FLOPs (1E21),Arena-Elo,"
    "MTBench,MMLU\n"
    "llama-2-7b-chat,Llama-2-Chat,7.0,2.0,84.0,0.3,0.6,0.45\n"
    "gpt-4-0613,GPT-4,,,,0.92,0.92,0.86\n"
)
# the post-training table: names with commas inside quotes, upstream's ",norm" copies (not
# fractions), an all-zero column (non-CoT strict-match BBH), an empty cell, a
# model id with stray spaces; no final line break, as upstream
OBS_POST = (
    'Model,"gsm8k_5_exact_match,strict-match","gsm8k_5_exact_match,flexible-extract",'
    '"bbh_fewshot_navigate_3_exact_match,strict-match",'
    '"bbh_cot_fewshot_navigate_3_exact_match,flexible-extract",'
    '"bbh_cot_fewshot_navigate_3_exact_match,flexible-extract,norm",'
    '"gsm8k_cot_self_consistency_8_exact_match,maj@5"\n'
    "meta-llama/Llama-2-7b-hf,0.14,0.15,0.0,0.55,0.1,0.2\n"
    " meta-llama/Llama-2-13b-hf ,0.23,0.25,0.0,0.61,0.22,0.3\n"
    "EleutherAI/pythia-1b-deduped,0.01,0.02,0.0,0.49,-0.02,0.0\n"
    "mistralai/Mistral-7B-v0.1,0.37,0.4,0.0,0.7,0.4,\n"
    ",,,,,,"
)
V1_HEADER = (
    "t,model,average,arc,hellaswag,mmlu,truthfulqa,winogrande,gsm8k,type,architecture,"
    "weight_type,precision,merged,hub_license,params_b,hub_hearts,available_on_the_hub,"
    "model_sha,flagged,moe,date,fullname,url\n"
)


def v1_row(
    name: str,
    mmlu: float = 46.87,
    *,
    precision: str = "float16",
    merged: str = "TRUE",
    flagged: str = "TRUE",
    kind: str = "🟢 pretrained",
    date: str = "2023-09-09T10:52:17Z",
    weight: str = "Original",
) -> str:
    # merged/flagged read inverted upstream: TRUE means "not merged" / "not flagged"
    return (
        f'🟢,{name},50,53.07,78.59,{mmlu},38.76,74.03,14.48,"{kind}",LlamaForCausalLM,'
        f"{weight},{precision},{merged},llama2,6,0,TRUE,abc,{flagged},TRUE,{date},{name},"
        f"https://huggingface.co/{name}\n"
    )


OPENLLM_V1 = V1_HEADER + "".join(
    [
        v1_row("meta-llama/Llama-2-7b-hf"),
        v1_row("meta-llama/Llama-2-7b-hf", 43.8, precision="4bit", date=""),
        v1_row(
            "EleutherAI/pythia-1b-deduped", 24.27, precision="bfloat16", date="2023-10-16T12:48:18Z"
        ),
        v1_row(
            "EleutherAI/pythia-1b-deduped", 30.0, precision="bfloat16", date="2023-08-01T12:48:18Z"
        ),
        v1_row(
            "someone/Llama-2-7b-hf-merged",
            47.0,
            merged="FALSE",
            kind="🔶 fine-tuned on domain-specific datasets",
        ),
        v1_row(
            "someone/cheater-7b",
            80.0,
            flagged="FALSE",
            kind="🔶 fine-tuned on domain-specific datasets",
        ),
        v1_row("someone/Llama-2-7b-hf-sft", 45.0, kind="💬 chat models (RLHF, DPO, IFT, ...)"),
        v1_row("someone/broken", 146.0, kind="🔶 fine-tuned on domain-specific datasets"),
        v1_row("meta-llama/Llama-2-7b-chat-hf", 47.0, kind="💬 chat models (RLHF, DPO, IFT, ...)"),
    ]
)

V2_KEYS = ("ifeval", "bbh", "math", "gpqa", "musr", "mmlu_pro")
V2_HEADER = (
    "id,model_name,model_sha,model_precision,model_type,model_weight_type,"
    "model_architecture,model_average_score,model_has_chat_template,"
    + "".join(
        f"evaluations_{k}_name,evaluations_{k}_value,evaluations_{k}_normalized_score,"
        for k in V2_KEYS
    )
    + "features_is_not_available_on_hub,features_is_merged,features_is_moe,"
    "features_is_flagged,features_is_official_provider,metadata_upload_date,"
    "metadata_submission_date,metadata_generation,metadata_base_model,"
    "metadata_hub_license,metadata_hub_hearts,metadata_params_billions,"
    "metadata_co2_cost\n"
)


def v2_row(
    name: str,
    gpqa: float = 0.2668,
    *,
    kind: str = "pretrained",
    chat: str = "FALSE",
    precision: str = "bfloat16",
    merged: str = "FALSE",
    base: str | None = None,
    params: str = "6.738",
    upload: str = "2023-07-13",
    submitted: str = "2024-06-12",
) -> str:
    evals = "".join(
        f"{n},{v},{v * 100},"
        for n, v in (
            ("IFEval", 0.25),
            ("BBH", 0.35),
            ("MATH Level 5", 0.017),
            ("GPQA", gpqa),
            ("MUSR", 0.37),
            ("MMLU-PRO", 0.186),
        )
    )
    return (
        f"{name}_x,{name},sha,{precision},{kind},Original,LlamaForCausalLM,9.0,{chat},"
        f"{evals}TRUE,{merged},FALSE,FALSE,TRUE,{upload},{submitted},0,{base or name},"
        f"llama2,10,{params},1.0\n"
    )


OPENLLM_V2 = V2_HEADER + "".join(
    [
        v2_row("meta-llama/Llama-2-7b-hf"),
        v2_row("meta-llama/Llama-2-7b-hf", 0.3, chat="TRUE"),
        v2_row("meta-llama/Llama-2-13b-hf", 0.28, params="13.016", upload="2023-07-13"),
        v2_row(
            "someone/Llama-2-7b-hf-sft",
            0.27,
            kind="chatmodels",
            chat="TRUE",
            base="meta-llama/Llama-2-7b-hf",
            upload="2024-01-01",
        ),
        v2_row("someone/merge-7b", 0.3, kind="basemergesandmoerges", merged="TRUE"),
        v2_row("Qwen/Qwen2-7B", 0.3, params="7.616", upload="2024-06-04"),
        v2_row("meta-llama/Llama-2-7b-chat-hf", 0.25),  # v2 calls this chat model "pretrained"
    ]
)

# Epoch's live file: extra and reordered columns, free text with newlines, words-not-tokens.
EPOCH = (
    "Organization,Model,Extra column,Parameters,Publication date,Training compute (FLOP),"
    "Domain,Training dataset size (datapoints),Dataset size notes\n"
    'Meta AI,Llama 2-7B,x,70000000000.0,2023-07-18,8.4e+22,Language,1.5e12,"2T tokens\n'
    '~= 1.5T words"\n'
    "Meta AI,Llama 2-13B,x,13000000000.0,2023-07-18,1.6e+23,Language,1.5e12,\n"
    "Alibaba,Qwen2-7B,x,7600000000.0,2024-06-07,3.2e+23,Language,7e12,\n"
    "DeepMind,AlphaGo,x,,2016-01-27,1.9e+21,Games,,\n"
)

EVALPLUS = {
    "Mistral-7B": {
        "link": "https://huggingface.co/mistralai/Mistral-7B-v0.1",
        "size": 7.0,
        "pass@1": {"humaneval": 28.7, "humaneval+": 23.8, "mbpp": None, "mbpp+": None},
    },
    "GPT-4": {
        "link": "https://openai.com/gpt-4",
        "size": None,
        "pass@1": {"humaneval": 88.4, "humaneval+": 76.8, "mbpp": 81.7, "mbpp+": 70.7},
    },
    "Broken": {"link": "", "size": 1.0},
}

# Epoch hub files: a byte-order mark, no final line break, percent strings, version ids.
BOM = "\ufeff"
HUB_RUNS = BOM + (
    "id,task,model,Best score (across scorers),started_at,task version\n"
    "r1,GPQA diamond,gpt-4o-2024-05-13,0.48,1 May 2025 9:00am,1.0.0\n"
    "r2,GPQA diamond,Llama-2-13b,0.27,1 May 2025 9:00am,1.0.0"
)
HUB_GSM8K = BOM + (
    "id,Name,EM,Model version\n"
    "a,Llama 2 (13B),28.7%,Llama-2-13b\n"
    "b,GPT-4o,90.0%,gpt-4o-2024-05-13\n"
    "c,Palmyra X,63.3%,"
)
HUB_MCBENCH = BOM + "id,Model version,ELO\nm,gpt-4o-2024-05-13,1100"
HUB_VERSIONS = BOM + (
    "id,Model,Version release date,Hugging Face developer id\n"
    "Llama-2-13b,Llama 2-13B,2023-07-18,meta-llama\n"
    "gpt-4o-2024-05-13,GPT-4o,2024-05-13,\n"
    "pythia-1b-deduped,Pythia-1B,2023-02-13,EleutherAI"
)

FILES = {
    "obsscaling_base": OBS_BASE,
    "obsscaling_sub10b": OBS_SUB10B,
    "obsscaling_instruct": OBS_INSTRUCT,
    "obsscaling_post": OBS_POST,
    "openllm_v1": OPENLLM_V1,
    "openllm_v2": OPENLLM_V2,
    "epoch": EPOCH,
    "evalplus": json.dumps(EVALPLUS),
    "epoch_hub_runs": HUB_RUNS,
    "epoch_hub_gsm8k": HUB_GSM8K,
    "epoch_hub_versions": HUB_VERSIONS,
}


def _empty_hub_table(name: str) -> str:
    """A hub table with its declared columns and no rows (what a table without a fake is)."""
    from obsscale.data.parsers.epoch_hub import load_hub_config

    spec = load_hub_config()["external"].get(name.removeprefix("epoch_hub_"), {})
    cols = dict.fromkeys(["Model version", spec.get("model", "Model version"), spec.get("score")])
    return ",".join(c for c in cols if c) + "\n"


def write_fakes(config: Config, skip: tuple[str, ...] = ()) -> None:
    """Write every fake upstream file where fetch would have put it (hub tables without a
    fake as tables with no rows: a harmonize with a raw file missing is refused)."""
    for source in config.sources:
        if source.name in skip:
            continue
        if source.name in FILES:
            text = FILES[source.name]
        elif source.parser == "epoch_hub_external":
            text = _empty_hub_table(source.name)
        else:
            continue
        path: Path = config.raw_path(source)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
