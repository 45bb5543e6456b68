rule fig1:
    input:
        tables=expand(f"{RES}/scores/test/fig1/p{{p}}.csv", p=FIG1_P),
        crosscheck=crosscheck_input("fig1"),
    output:
        pdf=report("results/fig1.pdf", caption="../report/fig1.rst", category="Paper A"),
        csv="results/fig1.csv",
        png="results/fig1.png",
    params:
        p=FIG1_P,
        caption=(
            f"scale={SCALE}, data={P['dataset']}, {P['sample_rate']} Hz, "
            f"{P['train']['steps']} steps x batch {P['train']['batch_size']}, BSS Eval v4 ({P['scorer']} scorer) median of medians"
        ),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        "results/logs/fig1.log",
    shell:
        "python -m mixlab fig1 --p {params.p} --tables {input.tables:q} --out {output.pdf:q} --csv {output.csv:q}"
        " --caption {params.caption:q} > {log:q} 2>&1"


rule fig3:
    input:
        tables=expand(f"{RES}/scores/test/fig3/{{model}}.csv", model=EXPERIMENT_MODELS.get("fig3", [])),
        crosscheck=crosscheck_input("fig3"),
    output:
        pdf=report("results/fig3.pdf", caption="../report/fig3.rst", category="Paper A"),
        csv="results/fig3.csv",
        png="results/fig3.png",
    params:
        models=EXPERIMENT_MODELS.get("fig3", []),
        caption=caption(f"BSS Eval v4 ({P['scorer']} scorer) median of medians, average of stems"),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        "results/logs/fig3.log",
    shell:
        "python -m mixlab fig3 --models {params.models:q} --tables {input.tables:q} --out {output.pdf:q} --csv {output.csv:q}"
        " --caption {params.caption:q} > {log:q} 2>&1"


rule fig2:
    input:
        curves=expand(f"{RES}/curves/fig2/p{{p}}.csv", p=FIG2_P),
    output:
        pdf=report("results/fig2.pdf", caption="../report/fig2.rst", category="Paper A"),
        csv="results/fig2.csv",
        png="results/fig2.png",
    params:
        p=FIG2_P,
        caption=caption(f"SDX SDR improvement every {P['fig2']['every']} steps, chunks of the training length"),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        "results/logs/fig2.log",
    shell:
        "python -m mixlab fig2 --p {params.p} --curves {input.curves:q} --out {output.pdf:q} --csv {output.csv:q}"
        " --caption {params.caption:q} > {log:q} 2>&1"


rule fig4:
    input:
        tables=[f"{RES}/scores/{ts}/fig1/{m}.csv" for _, ts, m in FIG4_ROWS],
    output:
        pdf=report("results/fig4.pdf", caption="../report/fig4.rst", category="Paper A"),
        csv="results/fig4.csv",
        png="results/fig4.png",
    params:
        rows=json.dumps([labels for labels, _, _ in FIG4_ROWS]),
        caption=caption(f"per-stem shifted test sets, seeds {P['fig4']['seeds']}, mean ± std over seeds"),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        "results/logs/fig4.log",
    shell:
        "python -m mixlab shift-figure --figure 4 --rows {params.rows:q} --tables {input.tables:q} --out {output.pdf:q}"
        " --csv {output.csv:q} --caption {params.caption:q} > {log:q} 2>&1"


rule fig5:
    input:
        tables=[f"{RES}/scores/test/{exp}/{m}.csv" for _, exp, m in fig5_rows()],
    output:
        pdf=report("results/fig5.pdf", caption="../report/fig5.rst", category="Paper A"),
        csv="results/fig5.csv",
        png="results/fig5.png",
    params:
        rows=json.dumps([labels for labels, _, _ in fig5_rows()]),
        caption=caption("original mixes with per-stem shifts in training, unmodified test set"),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        "results/logs/fig5.log",
    shell:
        "python -m mixlab shift-figure --figure 5 --rows {params.rows:q} --tables {input.tables:q} --out {output.pdf:q}"
        " --csv {output.csv:q} --caption {params.caption:q} > {log:q} 2>&1"


rule table1:
    input:
        tables=expand(f"{RES}/scores/test/table1/{{model}}.csv", model=EXPERIMENT_MODELS["table1"]),
    output:
        md="results/table1.md",
        csv=report("results/table1.csv", caption="../report/table1.rst", category="Paper A"),
        tex="results/table1.tex",
    params:
        models=EXPERIMENT_MODELS["table1"],
        caption=caption("trained on original mixes (p = 1) of each set, "
                        + (f"pitch copies up to ±{P['table1']['pitch_max']} st" if P["table1"]["pitch_max"] else "no pitch copies")),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        "results/logs/table1.log",
    shell:
        "python -m mixlab table1 --models {params.models:q} --tables {input.tables:q} --out results/table1"
        " --caption {params.caption:q} > {log:q} 2>&1"


rule paper_a:
    input:
        PAPER_A,


rule training_histories:
    # every trained model's loss curve (the engine's <model>.history.csv), one panel per experiment
    input:
        histories=list(trained_histories().values()),
    output:
        pdf=report("results/training.pdf", caption="../report/training.rst", category="Training"),
        csv="results/training.csv",
        png="results/training.png",
    params:
        labels=list(trained_histories()),
        caption=f"scale={SCALE}, data={P['dataset']}: training loss per logged step (dashed: validation loss)",
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        "results/logs/training_histories.log",
    shell:
        "python -m mixlab histories --labels {params.labels:q} --histories {input.histories:q} --out {output.pdf:q}"
        " --csv {output.csv:q} --caption {params.caption:q} > {log:q} 2>&1"
