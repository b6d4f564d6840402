# Stand-in for nginxinc/nginx-unprivileged: Debian's nginx run as an unprivileged user, logs to the
# container's stdout/stderr, wget for the health check (as the Alpine image has busybox wget).
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends nginx-light wget >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log \
 && chown -R www-data:www-data /var/lib/nginx /var/log/nginx
USER www-data
EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
