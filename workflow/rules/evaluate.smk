# Shared evaluation stage: full-track separation, BSS Eval v4 per track (museval or the exact fast
# scorer), per-model medians, the museval cross-check of the fast scorer, Paper B's uSDR.


rule separate:
    # the chunking comes from the model file (its spec's `separate`): `mixlab separate` by hand gives these numbers
    input:
        model=f"{RES}/models/{{exp}}/{{model}}.pt",
        corpus=lambda w: testset_root(w.testset),
    output:
        directory(f"{RES}/separated/{{testset}}/{{exp}}/{{model}}"),
    params:
        tracks=lambda w, input: [f"{input.corpus}/test/{t}" for t in tracks("test")],
        out=lambda w: f"{RES}/separated/{w.testset}/{w.exp}",
        device=lambda w: infer_job(w).device,
    threads: lambda w: infer_job(w).threads
    resources:
        gpu=lambda w: infer_job(w).resources["gpu"],
        mem_mb=lambda w: infer_job(w).resources["mem_mb"],
        runtime=lambda w: infer_job(w).resources["runtime"],
        cpus_per_gpu=lambda w: infer_job(w).resources.get("cpus_per_gpu", 0),
    conda:
        ENV
    log:
        f"{RES}/logs/separate/{{testset}}/{{exp}}/{{model}}.log",
    shell:
        "python -m mixlab separate {params.tracks:q} --model {input.model:q} --out {params.out:q}"
        " --name {wildcards.model:q} --device {params.device} --threads {threads} > {log:q} 2>&1"


rule score_model:
    # One job per (test set, model) writing every track's JSON: per-track jobs spent 5-8 s each
    # starting Python/torch/museval for ~1 s of scoring at demo scale.
    input:
        estimates=f"{RES}/separated/{{testset}}/{{exp}}/{{model}}",
        corpus=lambda w: testset_root(w.testset),
    output:
        expand(f"{RES}/scores/{{{{testset}}}}/{{{{exp}}}}/{{{{model}}}}/{{track}}.json", track=tracks("test")),
    params:
        references=lambda w, input: [f"{input.corpus}/test/{t}" for t in tracks("test")],
        estimates=lambda w, input: [f"{input.estimates}/{t}" for t in tracks("test")],
        spec=json.dumps(PLAN.job_spec("score")),
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/score/{{testset}}/{{exp}}/{{model}}.log",
    shell:
        "python -m mixlab score --references {params.references:q} --estimates {params.estimates:q} --out {output:q}"
        " --spec {params.spec:q} --threads {threads} > {log:q} 2>&1"


rule aggregate_model:
    input:
        lambda w: expand(f"{RES}/scores/{w.testset}/{w.exp}/{w.model}/{{track}}.json", track=tracks("test")),
    output:
        f"{RES}/scores/{{testset}}/{{exp}}/{{model}}.csv",
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/aggregate/{{testset}}/{{exp}}/{{model}}.log",
    shell:
        "python -m mixlab aggregate {input:q} --out {output:q} > {log:q} 2>&1"


rule crosscheck_scorer:
    input:
        scores=lambda w: [f"{RES}/scores/test/{w.exp}/{m}/{t}.json" for m, t in crosscheck_pairs(w.exp)],
        estimates=lambda w: [f"{RES}/separated/test/{w.exp}/{m}" for m, t in crosscheck_pairs(w.exp)],
        corpus=corpus_root(),
    output:
        f"{RES}/crosscheck/{{exp}}.json",
    params:
        references=lambda w, input: [f"{input.corpus}/test/{t}" for m, t in crosscheck_pairs(w.exp)],
        estimates=lambda w, input: [f"{e}/{t}" for e, (m, t) in zip(input.estimates, crosscheck_pairs(w.exp))],
    threads: JOB["light_a"].threads
    resources:
        **JOB["light_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/crosscheck/{{exp}}.log",
    shell:
        "python -m mixlab crosscheck --references {params.references:q} --estimates {params.estimates:q}"
        " --scores {input.scores:q} --out {output:q} > {log:q} 2>&1"


rule usdr_model:
    input:
        estimates=f"{RES}/separated/{{testset}}/{{exp}}/{{model}}",
        corpus=lambda w: testset_root(w.testset),
    output:
        f"{RES}/usdr/{{testset}}/{{exp}}/{{model}}.csv",
    params:
        tracks=tracks("test"),
        references=lambda w, input: [f"{input.corpus}/test/{t}" for t in tracks("test")],
        estimates=lambda w, input: [f"{input.estimates}/{t}" for t in tracks("test")],
        spec=json.dumps(PLAN.job_spec("usdr")),
    threads: JOB["light_b"].threads
    resources:
        **JOB["light_b"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/usdr/{{testset}}/{{exp}}/{{model}}.log",
    shell:
        "python -m mixlab usdr --tracks {params.tracks:q} --references {params.references:q} --estimates {params.estimates:q}"
        " --spec {params.spec:q} --out {output:q} > {log:q} 2>&1"
