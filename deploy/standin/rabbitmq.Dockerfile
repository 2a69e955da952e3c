# Stand-in for the official RabbitMQ image: Debian's rabbitmq-server in the
# foreground, data in /var/lib/rabbitmq, and (as the official image does) the
# guest user allowed from other containers.
ARG BASE
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /etc/rabbitmq/conf.d \
 && printf 'loopback_users.guest = false\nlisteners.tcp.default = 5672\n' > /etc/rabbitmq/conf.d/10-defaults.conf \
 && chown -R rabbitmq:rabbitmq /etc/rabbitmq /var/lib/rabbitmq
ENV RABBITMQ_LOGS=- HOME=/var/lib/rabbitmq
USER rabbitmq
EXPOSE 5672
CMD ["rabbitmq-server"]
