# Minimal image that runs the pipeline and can serve JupyterLab.
# Untested on the project's own machines (base images cannot be pulled there).
FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt \
    && pip install --no-cache-dir --no-deps -e .
EXPOSE 8888
# `docker run IMAGE` runs the quick profile; `docker run -p 8888:8888 IMAGE jupyter lab --ip=0.0.0.0 --allow-root`
CMD ["python", "-m", "seq2seq_lib", "run-all", "--profile", "quick"]
