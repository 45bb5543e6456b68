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
    conda:
        ENV
    log:
        f"{RES}/logs/score/{{exp}}/{{model}}/{{track}}.log",
    shell:
        "mixlab score --references {input.corpus:q}/test/{wildcards.track:q}"
        " --estimates {input.estimates:q}/{wildcards.track:q}"
        " --sample-rate {params.sample_rate} --track-name {wildcards.track:q} --out {output:q} > {log:q} 2>&1"


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
