rule synth_corpus:
    output:
        directory(f"{RES}/corpus/musdb"),
    params:
        spec=lambda w: synth_spec(),
    conda:
        ENV
    log:
        f"{RES}/logs/synth_corpus.log",
    shell:
        "mixlab synth --out {output:q} --seed {params.spec.seed} --sample-rate {params.spec.sample_rate}"
        " --n-train {params.spec.n_train} --n-valid {params.spec.n_valid} --n-test {params.spec.n_test}"
        " --min-seconds {params.spec.min_seconds} --max-seconds {params.spec.max_seconds} > {log:q} 2>&1"


rule stem_store:
    input:
        corpus=corpus_root(),
    output:
        directory(f"{RES}/store/{{split}}"),
    params:
        sample_rate=P["sample_rate"],
    conda:
        ENV
    log:
        f"{RES}/logs/stem_store_{{split}}.log",
    shell:
        "mixlab store --root {input.corpus:q} --split {wildcards.split} --out {output:q}"
        " --sample-rate {params.sample_rate} > {log:q} 2>&1"
