# cdgate with its pinned dependencies, as a non-root user.
# The base is pinned by digest: refresh it when the base image gets security fixes.
FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git: the merge gate reads base and head commits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/cdgate
COPY pyproject.toml README.md ./
COPY scanner ./scanner
COPY policies ./policies
COPY rules ./rules
# Editable: rules/ and policies/ are read beside the package.
RUN python -m pip install --no-cache-dir -e ".[scanners]" \
 && useradd --uid 10001 --create-home --shell /usr/sbin/nologin cdgate

USER 10001:10001
WORKDIR /repo
ENTRYPOINT ["cdgate"]
CMD ["--help"]
