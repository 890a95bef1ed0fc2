// ns-3 reference runner for snakesim's network-model goldens (issue #11, item 5).
//
// Reads one case from stdin in a small line format written by run_ns3.py, builds the
// point-to-point topology, runs TCP bulk flows (BulkSend -> PacketSink) and request/reply
// message exchanges on one persistent full-duplex TCP connection, and prints one line per
// result on stdout (times as integer nanoseconds).  Every TCP setting that matters is set
// explicitly from the input, so the run does not depend on ns-3's defaults changing.
//
// Input lines (whitespace separated; order as listed, one case per process):
//   set <key> <value>            keys: sndbuf rcvbuf mss initcwnd delack queue_packets
//                                      sack (0|1) tcp (TcpCubic | TcpNewReno | ...) stop_ns
//   nodes <n>
//   link <a> <b> <rate_bps> <delay_ns>
//   flow <id> <src> <dst> <bytes> <start_ns>
//   exchange <id> <start_ns> <k> <src_1> <dst_1> <bytes_1> ... <src_k> <dst_k> <bytes_k>
//   end
// Output lines:
//   flow <id> <start_ns> <first_rx_ns> <done_ns> <rx_bytes> <retransmissions>
//   msg <exchange_id> <index> <src> <dst> <bytes> <start_ns> <done_ns>
//   exchange <id> <retransmissions>
//   linkdir <link_index> <from> <to> <tx_packets> <tx_bytes> <drops> <max_queue_packets>
//   nodedrops <node> <packets dropped by the node's traffic-control layer (full device queue)>
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

#include <cstdint>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

using namespace ns3;

namespace
{

struct FlowSpec
{
    std::string id;
    uint32_t src;
    uint32_t dst;
    uint64_t bytes;
    int64_t startNs;
    // results
    uint64_t rx = 0;
    int64_t firstRxNs = -1;
    int64_t doneNs = -1;
    uint64_t retx = 0;
};

struct Message
{
    uint32_t src;
    uint32_t dst;
    uint64_t bytes;
    int64_t startNs = -1;
    int64_t doneNs = -1;
};

struct LinkDirStats
{
    uint32_t link;
    uint32_t from;
    uint32_t to;
    uint64_t txPackets = 0;
    uint64_t txBytes = 0;
    uint64_t drops = 0;
    uint32_t maxQueue = 0;
};

std::vector<FlowSpec> g_flows;

/// Abort when a trace connection failed (a misspelt trace source connects nothing).
void
Check(bool ok, const char* what)
{
    if (!ok)
    {
        NS_FATAL_ERROR("failed to connect trace source " << what);
    }
}
std::vector<LinkDirStats> g_dirs;

void
OnSinkRx(size_t flow, Ptr<const Packet> p, const Address&)
{
    FlowSpec& f = g_flows[flow];
    int64_t now = Simulator::Now().GetNanoSeconds();
    if (f.firstRxNs < 0)
    {
        f.firstRxNs = now;
    }
    f.rx += p->GetSize();
    if (f.rx >= f.bytes && f.doneNs < 0)
    {
        f.doneNs = now;
    }
}

void
OnFlowRetx(size_t flow,
           Ptr<const Packet>,
           const TcpHeader&,
           const Address&,
           const Address&,
           Ptr<const TcpSocketBase>)
{
    g_flows[flow].retx++;
}

void
OnPhyTxBegin(size_t dir, Ptr<const Packet> p)
{
    g_dirs[dir].txPackets++;
    g_dirs[dir].txBytes += p->GetSize();
}

void
OnQueueDrop(size_t dir, Ptr<const Packet>)
{
    g_dirs[dir].drops++;
}

std::vector<uint64_t> g_nodeDrops;

void
OnTcDrop(size_t node, Ptr<const Packet>)
{
    g_nodeDrops[node]++;
}

void
OnQueueLen(size_t dir, uint32_t, uint32_t now)
{
    if (now > g_dirs[dir].maxQueue)
    {
        g_dirs[dir].maxQueue = now;
    }
}

/// A sequence of messages on one persistent full-duplex TCP connection.  Message k+1 is
/// handed to its sender's socket at the instant message k has been completely delivered to
/// its receiving application (the Split-Learning pattern: request, reply, request, ...).
class Exchange : public SimpleRefCount<Exchange>
{
  public:
    Exchange(std::string id,
             uint32_t client,
             uint32_t server,
             uint16_t port,
             int64_t startNs,
             std::vector<Message> msgs)
        : m_id(std::move(id)),
          m_client(client),
          m_server(server),
          m_port(port),
          m_startNs(startNs),
          m_msgs(std::move(msgs))
    {
    }

    void Setup()
    {
        Ptr<Node> serverNode = NodeList::GetNode(m_server);
        m_listen = Socket::CreateSocket(serverNode, TcpSocketFactory::GetTypeId());
        m_listen->Bind(InetSocketAddress(Ipv4Address::GetAny(), m_port));
        m_listen->Listen();
        m_listen->SetAcceptCallback(MakeNullCallback<bool, Ptr<Socket>, const Address&>(),
                                    MakeCallback(&Exchange::OnAccept, Ptr<Exchange>(this)));
        Simulator::Schedule(NanoSeconds(m_startNs), &Exchange::Start, Ptr<Exchange>(this));
    }

    std::string m_id;
    uint32_t m_client;
    uint32_t m_server;
    uint16_t m_port;
    int64_t m_startNs;
    std::vector<Message> m_msgs;
    uint64_t m_retx = 0;

  private:
    void Start()
    {
        Ptr<Node> clientNode = NodeList::GetNode(m_client);
        Ipv4Address addr =
            NodeList::GetNode(m_server)->GetObject<Ipv4>()->GetAddress(1, 0).GetLocal();
        m_clientSock = Socket::CreateSocket(clientNode, TcpSocketFactory::GetTypeId());
        m_clientSock->Bind();
        Check(m_clientSock->TraceConnectWithoutContext(
                  "Retransmission",
                  MakeCallback(&Exchange::OnRetx, Ptr<Exchange>(this))),
              "Retransmission");
        m_clientSock->SetRecvCallback(MakeCallback(&Exchange::OnRecv, Ptr<Exchange>(this)));
        m_clientSock->SetSendCallback(
            MakeCallback(&Exchange::OnSendSpace, Ptr<Exchange>(this)));
        m_clientSock->Connect(InetSocketAddress(addr, m_port));
        // The first message is handed to the socket at the start; TCP sends it once the
        // handshake completes (the socket buffers it meanwhile, up to SndBufSize).
        BeginMessage(0);
    }

    void OnAccept(Ptr<Socket> s, const Address&)
    {
        m_serverSock = s;
        Check(s->TraceConnectWithoutContext("Retransmission",
                                            MakeCallback(&Exchange::OnRetx, Ptr<Exchange>(this))),
              "Retransmission");
        s->SetRecvCallback(MakeCallback(&Exchange::OnRecv, Ptr<Exchange>(this)));
        s->SetSendCallback(MakeCallback(&Exchange::OnSendSpace, Ptr<Exchange>(this)));
        OnRecv(s); // anything that arrived with the handshake's last ACK
        Pump();
    }

    void OnRetx(Ptr<const Packet>,
                const TcpHeader&,
                const Address&,
                const Address&,
                Ptr<const TcpSocketBase>)
    {
        m_retx++;
    }

    Ptr<Socket> SenderSocket(const Message& m) const
    {
        return m.src == m_client ? m_clientSock : m_serverSock;
    }

    void BeginMessage(size_t k)
    {
        m_cur = k;
        m_sent = 0;
        m_rx = 0;
        m_msgs[k].startNs = Simulator::Now().GetNanoSeconds();
        Pump();
    }

    void Pump()
    {
        if (m_cur >= m_msgs.size())
        {
            return;
        }
        Message& m = m_msgs[m_cur];
        Ptr<Socket> s = SenderSocket(m);
        if (!s)
        {
            return; // server side not accepted yet; OnAccept pumps
        }
        while (m_sent < m.bytes)
        {
            uint32_t avail = s->GetTxAvailable();
            if (avail == 0)
            {
                break;
            }
            uint64_t left = m.bytes - m_sent;
            uint32_t n = static_cast<uint32_t>(std::min<uint64_t>({left, avail, 65536}));
            int sent = s->Send(Create<Packet>(n));
            if (sent <= 0)
            {
                break;
            }
            m_sent += static_cast<uint64_t>(sent);
        }
    }

    void OnSendSpace(Ptr<Socket>, uint32_t)
    {
        Pump();
    }

    void OnRecv(Ptr<Socket> s)
    {
        Ptr<Packet> p;
        while ((p = s->Recv()))
        {
            if (p->GetSize() == 0)
            {
                break;
            }
            m_rx += p->GetSize();
        }
        if (m_cur < m_msgs.size() && m_rx >= m_msgs[m_cur].bytes)
        {
            if (m_rx > m_msgs[m_cur].bytes)
            {
                NS_FATAL_ERROR("exchange received more bytes than the current message");
            }
            m_msgs[m_cur].doneNs = Simulator::Now().GetNanoSeconds();
            if (m_cur + 1 < m_msgs.size())
            {
                BeginMessage(m_cur + 1);
            }
            else
            {
                m_cur = m_msgs.size();
            }
        }
    }

    Ptr<Socket> m_listen;
    Ptr<Socket> m_clientSock;
    Ptr<Socket> m_serverSock;
    size_t m_cur = 0;
    uint64_t m_sent = 0;
    uint64_t m_rx = 0;
};

} // namespace

int
main(int argc, char* argv[])
{
    std::map<std::string, std::string> settings;
    uint32_t nNodes = 0;
    struct LinkSpec
    {
        uint32_t a, b;
        uint64_t rate;
        int64_t delayNs;
    };

    std::vector<LinkSpec> links;
    std::vector<Ptr<Exchange>> exchanges;

    std::string line;
    bool ended = false;
    while (std::getline(std::cin, line))
    {
        std::istringstream in(line);
        std::string kind;
        if (!(in >> kind))
        {
            continue;
        }
        if (kind == "set")
        {
            std::string k, v;
            in >> k >> v;
            settings[k] = v;
        }
        else if (kind == "nodes")
        {
            in >> nNodes;
        }
        else if (kind == "link")
        {
            LinkSpec l{};
            in >> l.a >> l.b >> l.rate >> l.delayNs;
            links.push_back(l);
        }
        else if (kind == "flow")
        {
            FlowSpec f{};
            in >> f.id >> f.src >> f.dst >> f.bytes >> f.startNs;
            g_flows.push_back(f);
        }
        else if (kind == "exchange")
        {
            std::string id;
            int64_t start;
            size_t k;
            in >> id >> start >> k;
            std::vector<Message> msgs;
            for (size_t i = 0; i < k; ++i)
            {
                Message m{};
                in >> m.src >> m.dst >> m.bytes;
                msgs.push_back(m);
            }
            if (msgs.empty())
            {
                NS_FATAL_ERROR("exchange without messages");
            }
            uint32_t client = msgs[0].src;
            uint32_t server = msgs[0].dst;
            for (const auto& m : msgs)
            {
                if (!((m.src == client && m.dst == server) || (m.src == server && m.dst == client)))
                {
                    NS_FATAL_ERROR("an exchange's messages must be between its two endpoints");
                }
            }
            exchanges.push_back(Create<Exchange>(id, client, server, 0, start, msgs));
        }
        else if (kind == "end")
        {
            ended = true;
            break;
        }
        else
        {
            NS_FATAL_ERROR("unknown input line: " << line);
        }
        if (in.fail())
        {
            NS_FATAL_ERROR("bad input line: " << line);
        }
    }
    if (!ended || nNodes == 0)
    {
        NS_FATAL_ERROR("incomplete input");
    }

    // --- TCP settings (all explicit) ---
    Config::SetDefault("ns3::TcpL4Protocol::SocketType",
                       TypeIdValue(TypeId::LookupByName("ns3::" + settings.at("tcp"))));
    Config::SetDefault("ns3::TcpSocket::SegmentSize",
                       UintegerValue(std::stoul(settings.at("mss"))));
    Config::SetDefault("ns3::TcpSocket::InitialCwnd",
                       UintegerValue(std::stoul(settings.at("initcwnd"))));
    Config::SetDefault("ns3::TcpSocket::SndBufSize",
                       UintegerValue(std::stoul(settings.at("sndbuf"))));
    Config::SetDefault("ns3::TcpSocket::RcvBufSize",
                       UintegerValue(std::stoul(settings.at("rcvbuf"))));
    Config::SetDefault("ns3::TcpSocket::DelAckCount",
                       UintegerValue(std::stoul(settings.at("delack"))));
    Config::SetDefault("ns3::TcpSocket::TcpNoDelay", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocketBase::Timestamp", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocketBase::WindowScaling", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocketBase::Sack", BooleanValue(settings.at("sack") == "1"));

    NodeContainer nodes;
    nodes.Create(nNodes);
    InternetStackHelper stack;
    stack.Install(nodes);
    g_nodeDrops.assign(nNodes, 0);
    for (uint32_t i = 0; i < nNodes; ++i)
    {
        // With no queue disc, a packet meeting a full (stopped) device queue is dropped by
        // the node's traffic-control layer; count those per node.
        Check(nodes.Get(i)->GetObject<TrafficControlLayer>()->TraceConnectWithoutContext(
                  "TcDrop",
                  MakeBoundCallback(&OnTcDrop, static_cast<size_t>(i))),
              "TcDrop");
    }

    PointToPointHelper p2p;
    p2p.SetQueue("ns3::DropTailQueue<Packet>",
                 "MaxSize",
                 QueueSizeValue(QueueSize(settings.at("queue_packets") + "p")));
    p2p.SetDeviceAttribute("Mtu", UintegerValue(1500));

    Ipv4AddressHelper address;
    address.SetBase("10.0.0.0", "255.255.255.252");
    TrafficControlHelper tch;
    for (size_t i = 0; i < links.size(); ++i)
    {
        const LinkSpec& l = links[i];
        p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate(l.rate)));
        p2p.SetChannelAttribute("Delay", TimeValue(NanoSeconds(l.delayNs)));
        NetDeviceContainer devs = p2p.Install(nodes.Get(l.a), nodes.Get(l.b));
        address.Assign(devs);
        address.NewNetwork();
        // Assign() installs ns-3's default queue disc (FqCoDel); remove it so that packets go
        // straight to the device's drop-tail FIFO of queue_packets packets.
        tch.Uninstall(devs);
        for (uint32_t side = 0; side < 2; ++side)
        {
            size_t dir = g_dirs.size();
            g_dirs.push_back(LinkDirStats{static_cast<uint32_t>(i),
                                          side == 0 ? l.a : l.b,
                                          side == 0 ? l.b : l.a});
            Ptr<PointToPointNetDevice> dev = DynamicCast<PointToPointNetDevice>(devs.Get(side));
            Check(dev->TraceConnectWithoutContext("PhyTxBegin",
                                                  MakeBoundCallback(&OnPhyTxBegin, dir)),
                  "PhyTxBegin");
            Check(dev->TraceConnectWithoutContext("MacTxDrop",
                                                  MakeBoundCallback(&OnQueueDrop, dir)),
                  "MacTxDrop");
            Ptr<Queue<Packet>> q = dev->GetQueue();
            Check(q->TraceConnectWithoutContext("PacketsInQueue",
                                                MakeBoundCallback(&OnQueueLen, dir)),
                  "PacketsInQueue");
        }
    }
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();

    uint16_t port = 10000;
    for (size_t i = 0; i < g_flows.size(); ++i, ++port)
    {
        const FlowSpec& f = g_flows[i];
        Ipv4Address dst = nodes.Get(f.dst)->GetObject<Ipv4>()->GetAddress(1, 0).GetLocal();
        PacketSinkHelper sink("ns3::TcpSocketFactory",
                              InetSocketAddress(Ipv4Address::GetAny(), port));
        ApplicationContainer sinkApp = sink.Install(nodes.Get(f.dst));
        sinkApp.Start(Seconds(0));
        Check(sinkApp.Get(0)->TraceConnectWithoutContext("Rx", MakeBoundCallback(&OnSinkRx, i)),
              "Rx");

        BulkSendHelper bulk("ns3::TcpSocketFactory", InetSocketAddress(dst, port));
        bulk.SetAttribute("MaxBytes", UintegerValue(f.bytes));
        bulk.SetAttribute("SendSize", UintegerValue(std::stoul(settings.at("mss"))));
        ApplicationContainer app = bulk.Install(nodes.Get(f.src));
        app.Start(NanoSeconds(f.startNs));
        Check(app.Get(0)->TraceConnectWithoutContext("TcpRetransmission",
                                                     MakeBoundCallback(&OnFlowRetx, i)),
              "TcpRetransmission");
    }
    for (auto& e : exchanges)
    {
        e->m_port = port++;
        e->Setup();
    }

    Simulator::Stop(NanoSeconds(std::stoll(settings.at("stop_ns"))));
    Simulator::Run();

    for (const auto& f : g_flows)
    {
        std::cout << "flow " << f.id << " " << f.startNs << " " << f.firstRxNs << " " << f.doneNs
                  << " " << f.rx << " " << f.retx << "\n";
    }
    for (const auto& e : exchanges)
    {
        for (size_t k = 0; k < e->m_msgs.size(); ++k)
        {
            const Message& m = e->m_msgs[k];
            std::cout << "msg " << e->m_id << " " << k << " " << m.src << " " << m.dst << " "
                      << m.bytes << " " << m.startNs << " " << m.doneNs << "\n";
        }
        std::cout << "exchange " << e->m_id << " " << e->m_retx << "\n";
    }
    for (const auto& d : g_dirs)
    {
        std::cout << "linkdir " << d.link << " " << d.from << " " << d.to << " " << d.txPackets
                  << " " << d.txBytes << " " << d.drops << " " << d.maxQueue << "\n";
    }
    for (uint32_t i = 0; i < nNodes; ++i)
    {
        std::cout << "nodedrops " << i << " " << g_nodeDrops[i] << "\n";
    }
    Simulator::Destroy();
    return 0;
}
