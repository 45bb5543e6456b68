# mixlab: random mixing (Paper A) and MixIT (Paper B) music source separation studies.
# Usage: snakemake --cores all results/fig3.pdf [--config scale=paper musdb_root=/data/musdb18hq]
#        snakemake --cores all paper_a        # every figure and table of Paper A
#        snakemake --cores all paper_b        # every table of Paper B (results/mixit/)
#        snakemake --report report.html       # afterwards: figures and tables with captions
from snakemake.utils import min_version

min_version("8.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


envvars:
    "PATH",


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/mixit.smk"


rule all:
    input:
        final_targets(),
    default_target: True
