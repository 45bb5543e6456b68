# mixlab: random mixing (Paper A) and MixIT (Paper B) music source separation studies.
# Usage: snakemake --cores all results/fig1.pdf [--config scale=paper musdb_root=/data/musdb18hq]
from snakemake.utils import min_version

min_version("8.0")


configfile: "config.yaml"


envvars:
    "PATH",


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        final_targets(),
    default_target: True
