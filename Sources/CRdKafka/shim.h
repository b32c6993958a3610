// librdkafka, fenced: only KafkaClient imports this module.
#pragma once
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
