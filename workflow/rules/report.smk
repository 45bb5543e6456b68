# Both papers: every trained model's training history in one figure.


rule training_histories:
    # every trained model's loss curve (the engine's <model>.history.csv), one panel per experiment
    input:
        **figure_inputs("training"),
    output:
        pdf=report(f"{RES}/training.pdf", caption="../report/training.rst", category="Training"),
        csv=f"{RES}/training.csv",
        png=f"{RES}/training.png",
        md=f"{RES}/training.md",
    params:
        spec=figure_spec("training"),
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/training_histories.log",
    shell:
        "python -m mixlab figure --spec {params.spec:q} --out {output.pdf:q} > {log:q} 2>&1"


# results/fig3.pdf, ...: the default run's figures and tables, copied (SHORTCUTS, common.smk)
rule shortcut:
    input:
        lambda w: shortcut_source(w.name),
    output:
        "results/{name}",
    wildcard_constraints:
        name=SHORTCUTS,
    localrule: True
    conda:
        ENV
    log:
        f"{RES}/logs/shortcuts/{{name}}.log",
    shell:
        "cp {input:q} {output:q} > {log:q} 2>&1"
