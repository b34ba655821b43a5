// The protobuf types of bel.v1, under shorter names in namespace bel.
//
//   bel::BuildEvent ev;
//   ev.set_build_request_id("br-1");
#ifndef BEL_MESSAGES_TYPES_H_
#define BEL_MESSAGES_TYPES_H_

#include "messages/bel.pb.h"

namespace bel {

using v1::ActiveBuildsRequest;
using v1::ActiveBuildsResponse;
using v1::ActivityRequest;
using v1::ActivityResponse;
using v1::AppendAck;
using v1::AppendAcks;
using v1::AppendRequest;
using v1::BuildCancelEvent;
using v1::BuildEvent;
using v1::BuildFailure;
using v1::BuildPartitionSummary;
using v1::BuildRequestEvent;
using v1::BuildRequestStatus;
using v1::BuildRequestSummary;
using v1::BuildsListRequest;
using v1::BuildsListResponse;
using v1::BuildSummaryRequest;
using v1::DataDep;
using v1::DelegationEvent;
using v1::EventFilter;
using v1::EventPage;
using v1::JobConfig;
using v1::JobEvent;
using v1::JobGraph;
using v1::JobGraphEvent;
using v1::JobLabel;
using v1::JobMetrics;
using v1::JobMetricsList;
using v1::JobMetricsListRequest;
using v1::JobMetricsRequest;
using v1::JobRunCancelEvent;
using v1::JobRunRequest;
using v1::JobRunsListRequest;
using v1::JobRunsListResponse;
using v1::JobRunSummary;
using v1::JobStatus;
using v1::ListEventsRequest;
using v1::PartitionEvent;
using v1::PartitionInvalidationEvent;
using v1::PartitionManifest;
using v1::PartitionRef;
using v1::PartitionsListRequest;
using v1::PartitionsListResponse;
using v1::PartitionStatus;
using v1::PartitionStatusRequest;
using v1::PartitionStatusResponse;
using v1::Query;
using v1::QueryResult;
using v1::StorageStats;
using v1::ViewSnapshot;
using v1::ViewsStatus;
using v1::ViewState;
using v1::ViewStatus;

}  // namespace bel

#endif  // BEL_MESSAGES_TYPES_H_
