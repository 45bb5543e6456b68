rule separate:
    input:
        model=f"{RES}/models/{{exp}}/{{model}}.pt",
        corpus=corpus_root(),
    output:
        directory(f"{RES}/separated/{{exp}}/{{model}}"),
    params:
        sep=P["separate"],
        device="cuda" if P["resources"]["train_gpu"] > 0 else "cpu",
    threads: 1
    resources:
        gpu=min(1, train_resources("train_gpu")),
    conda:
        ENV
    log:
        f"{RES}/logs/separate/{{exp}}/{{model}}.log",
    shell:
        "mixlab separate --model {input.model:q} --root {input.corpus:q} --split test --out {output:q}"
        " --dim-t {params.sep[dim_t]} --overlap {params.sep[overlap]} --window {params.sep[window]}"
        " --batch-size {params.sep[batch_size]} --device {params.device} --threads {threads} > {log:q} 2>&1"


rule score_track:
    input:
        estimates=f"{RES}/separated/{{exp}}/{{model}}",
        corpus=corpus_root(),
    output:
        f"{RES}/scores/{{exp}}/{{model}}/{{track}}.json",
    params:
        sample_rate=P["sample_rate"],
        scorer=P["scorer"],
    threads: 1
    conda:
        ENV
    log:
        f"{RES}/logs/score/{{exp}}/{{model}}/{{track}}.log",
    shell:
        "mixlab score --references {input.corpus:q}/test/{wildcards.track:q}"
        " --estimates {input.estimates:q}/{wildcards.track:q}"
        " --sample-rate {params.sample_rate} --scorer {params.scorer} --threads {threads} --out {output:q} > {log:q} 2>&1"


rule aggregate_model:
    input:
        lambda w: expand(f"{RES}/scores/{w.exp}/{w.model}/{{track}}.json", track=tracks("test")),
    output:
        f"{RES}/scores/{{exp}}/{{model}}.csv",
    conda:
        ENV
    log:
        f"{RES}/logs/aggregate/{{exp}}/{{model}}.log",
    shell:
        "mixlab aggregate {input:q} --out {output:q} > {log:q} 2>&1"


rule crosscheck_scorer:
    input:
        scores=lambda w: [f"{RES}/scores/{w.exp}/{m}/{t}.json" for m, t in crosscheck_pairs(w.exp)],
        estimates=lambda w: [f"{RES}/separated/{w.exp}/{m}" for m, t in crosscheck_pairs(w.exp)],
        corpus=corpus_root(),
    output:
        f"{RES}/crosscheck/{{exp}}.json",
    params:
        references=lambda w, input: [f"{input.corpus}/test/{t}" for m, t in crosscheck_pairs(w.exp)],
        estimates=lambda w, input: [f"{e}/{t}" for e, (m, t) in zip(input.estimates, crosscheck_pairs(w.exp))],
    conda:
        ENV
    log:
        f"{RES}/logs/crosscheck/{{exp}}.log",
    shell:
        "mixlab crosscheck --references {params.references:q} --estimates {params.estimates:q}"
        " --scores {input.scores:q} --out {output:q} > {log:q} 2>&1"
