# Both papers: every trained model's training history in one figure.


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
