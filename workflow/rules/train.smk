rule train:
    wildcard_constraints:
        exp=r"fig[0-9][a-z]?|table1",
    input:
        stores=lambda w: train_stores(w.exp, w.model),
    output:
        model=f"{RES}/models/{{exp}}/{{model}}.pt",
        snapshots=directory(f"{RES}/models/{{exp}}/{{model}}.snapshots"),
    params:
        spec=lambda w: json.dumps(run_spec(w.exp, w.model)),
        resume=lambda w: f"{RES}/resume/{w.exp}/{w.model}",
        device="cuda" if P["resources"]["train_gpu"] > 0 else "cpu",
    threads: 1
    resources:
        gpu=train_resources("train_gpu"),
        mem_mb=train_resources("train_mem_mb"),
        runtime=train_resources("train_runtime_min"),
    conda:
        ENV
    log:
        f"{RES}/logs/train/{{exp}}/{{model}}.log",
    shell:
        "mixlab train --spec '{params.spec}' --store {input.stores:q} --out {output.model:q}"
        " --snapshots {output.snapshots:q} --resume-dir {params.resume:q} --device {params.device}"
        " --threads {threads} >> {log:q} 2>&1"
