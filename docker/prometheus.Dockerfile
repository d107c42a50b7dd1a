# otp-cluster-prometheus:latest: Debian's Prometheus (prometheus and promtool, their loader and
# libraries) with docker/prometheus.yml, made without any registry like docker/Dockerfile.
# `make docker-image` builds it; /prometheus is its (empty) storage directory.
FROM scratch
COPY . /
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", \
     "--web.listen-address=:9090"]
