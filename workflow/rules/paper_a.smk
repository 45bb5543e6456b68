# Paper A (random mixing, TFC-TDF-UNet v3): its training runs, its test-set and training-store
# variants, Fig. 2's curves, Figs. 1-5 and Table 1 under results/<run>/. Which models: PLAN (mixlab/plan.py).


PAPER_A = [f"{RES}/fig{i}.pdf" for i in range(1, 6)] + [f"{RES}/table1.{x}" for x in ("md", "csv", "tex")]
PAPER_A += [f"{RES}/effects_a.md"]


rule train_random_mixing:
    wildcard_constraints:
        exp=r"fig[0-9][a-z]?|table1",
    input:
        stores=lambda w: train_stores(w.exp, w.model),
    output:
        model=f"{RES}/models/{{exp}}/{{model}}.pt",
        snapshots=directory(f"{RES}/models/{{exp}}/{{model}}.snapshots"),
        history=f"{RES}/models/{{exp}}/{{model}}.history.csv",
    params:
        spec=lambda w: json.dumps(train_job(w.exp, w.model)),
        resume=lambda w: f"{RES}/resume/{w.exp}/{w.model}",
        device=JOB["train_a"].device,
        threads=lambda w, threads: JOB["train_a"].process_threads(threads),
    threads: JOB["train_a"].threads
    resources:
        **JOB["train_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/train/{{exp}}/{{model}}.log",
    shell:
        "python -m mixlab launch --gpus {resources.gpu} -- python -m mixlab train --spec {params.spec:q} --out {output.model:q}"
        " --snapshots {output.snapshots:q} --resume-dir {params.resume:q} --device {params.device}"
        " --threads {params.threads} >> {log:q} 2>&1"


rule shifted_testset:
    input:
        corpus=corpus_root(),
    output:
        directory(f"{RES}/testsets/{{kind}}{{value}}_s{{seed}}"),
    params:
        spec=json.dumps(PLAN.job_spec("shift-testset")),
    threads: JOB["prep_a"].threads
    resources:
        **JOB["prep_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/testsets/{{kind}}{{value}}_s{{seed}}.log",
    shell:
        "python -m mixlab shift-testset --root {input.corpus:q} --out {output:q} --kind {wildcards.kind}"
        " --value {wildcards.value} --seed {wildcards.seed} --spec {params.spec:q} > {log:q} 2>&1"


rule pitch_bank:
    input:
        store=f"{RES}/store/{{base}}",
    output:
        directory(f"{RES}/store/{{base}}_pitch{{semitones}}"),
    threads: JOB["prep_a"].threads
    resources:
        **JOB["prep_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/pitch_bank/{{base}}{{semitones}}.log",
    shell:
        "python -m mixlab pitch-bank --store {input.store:q} --semitones {wildcards.semitones} --out {output:q} > {log:q} 2>&1"


rule song_level_store:
    input:
        store=f"{RES}/store/train",
    output:
        directory(f"{RES}/store/table1_{{level}}_s{{seed}}"),
    params:
        spec=json.dumps(PLAN.job_spec("song-level-store")),
    threads: JOB["prep_a"].threads
    resources:
        **JOB["prep_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/song_level/{{level}}_s{{seed}}.log",
    shell:
        "python -m mixlab song-level-store --store {input.store:q} --kind {wildcards.level} --seed {wildcards.seed}"
        " --spec {params.spec:q} --out {output:q} > {log:q} 2>&1"


rule eval_set:
    input:
        store=f"{RES}/store/{{split}}",
    output:
        f"{RES}/evalsets/{{split}}.csv",
    params:
        spec=lambda w: json.dumps(PLAN.job_spec("evalset")),
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/evalset/{{split}}.log",
    shell:
        "python -m mixlab evalset --store {input.store:q} --spec {params.spec:q} --out {output:q} > {log:q} 2>&1"


rule training_curve:
    input:
        snapshots=f"{RES}/models/fig1/p{{p}}.snapshots",
        stores=[f"{RES}/store/train", f"{RES}/store/valid"],
        sets=[f"{RES}/evalsets/train.csv", f"{RES}/evalsets/valid.csv"],
    output:
        f"{RES}/curves/fig2/p{{p}}.csv",
    params:
        device=JOB["infer_a"].device,
    threads: JOB["infer_a"].threads
    resources:
        **JOB["infer_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/curve/fig2/p{{p}}.log",
    shell:
        "python -m mixlab curve --snapshots {input.snapshots:q} --splits train valid --stores {input.stores:q}"
        " --sets {input.sets:q} --device {params.device} --threads {threads} --out {output:q} > {log:q} 2>&1"


rule fig1:
    input:
        **figure_inputs("fig1"),
        crosscheck=crosscheck_input("fig1"),
    output:
        pdf=report(f"{RES}/fig1.pdf", caption="../report/fig1.rst", category="Paper A"),
        csv=f"{RES}/fig1.csv",
        png=f"{RES}/fig1.png",
        md=f"{RES}/fig1.md",
    params:
        spec=figure_spec("fig1"),
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/fig1.log",
    shell:
        "python -m mixlab figure --spec {params.spec:q} --out {output.pdf:q} > {log:q} 2>&1"


rule fig2:
    input:
        **figure_inputs("fig2"),
    output:
        pdf=report(f"{RES}/fig2.pdf", caption="../report/fig2.rst", category="Paper A"),
        csv=f"{RES}/fig2.csv",
        png=f"{RES}/fig2.png",
        md=f"{RES}/fig2.md",
    params:
        spec=figure_spec("fig2"),
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/fig2.log",
    shell:
        "python -m mixlab figure --spec {params.spec:q} --out {output.pdf:q} > {log:q} 2>&1"


rule fig3:
    input:
        **figure_inputs("fig3"),
        crosscheck=crosscheck_input("fig3"),
    output:
        pdf=report(f"{RES}/fig3.pdf", caption="../report/fig3.rst", category="Paper A"),
        csv=f"{RES}/fig3.csv",
        png=f"{RES}/fig3.png",
        md=f"{RES}/fig3.md",
    params:
        spec=figure_spec("fig3"),
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/fig3.log",
    shell:
        "python -m mixlab figure --spec {params.spec:q} --out {output.pdf:q} > {log:q} 2>&1"


rule fig4:
    input:
        **figure_inputs("fig4"),
    output:
        pdf=report(f"{RES}/fig4.pdf", caption="../report/fig4.rst", category="Paper A"),
        csv=f"{RES}/fig4.csv",
        png=f"{RES}/fig4.png",
        md=f"{RES}/fig4.md",
    params:
        spec=figure_spec("fig4"),
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/fig4.log",
    shell:
        "python -m mixlab figure --spec {params.spec:q} --out {output.pdf:q} > {log:q} 2>&1"


rule fig5:
    input:
        **figure_inputs("fig5"),
    output:
        pdf=report(f"{RES}/fig5.pdf", caption="../report/fig5.rst", category="Paper A"),
        csv=f"{RES}/fig5.csv",
        png=f"{RES}/fig5.png",
        md=f"{RES}/fig5.md",
    params:
        spec=figure_spec("fig5"),
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/fig5.log",
    shell:
        "python -m mixlab figure --spec {params.spec:q} --out {output.pdf:q} > {log:q} 2>&1"


rule table1:
    input:
        **figure_inputs("table1"),
    output:
        md=f"{RES}/table1.md",
        csv=report(f"{RES}/table1.csv", caption="../report/table1.rst", category="Paper A"),
        tex=f"{RES}/table1.tex",
    params:
        spec=figure_spec("table1"),
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/table1.log",
    shell:
        "python -m mixlab figure --spec {params.spec:q} --out {output.md:q} > {log:q} 2>&1"


rule effects_a:
    input:
        **figure_inputs("effects_a"),
    output:
        f"{RES}/effects_a.md",
    params:
        spec=figure_spec("effects_a"),
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/effects_a.log",
    shell:
        "python -m mixlab figure --spec {params.spec:q} --out {output:q} > {log:q} 2>&1"


rule paper_a:
    input:
        PAPER_A,
        shortcuts(PAPER_A),
