//! The HTML5 tree builder, run only as far as the title needs.
//!
//! `select` parses a whole document; most pages close their `title` in the
//! first kilobyte. This module drives html5ever's tokenizer and tree builder by
//! hand over an `RcDom`, watches which elements the builder pops off its stack,
//! and stops as soon as the answer can no longer change. The (partial) tree then
//! goes to `select` exactly as `select::Document::from` would build it.
//!
//! Stopping is exact, not a heuristic. It happens when an HTML `title` element
//! is popped while it is a child of the `head` element of the `html` element of
//! the document. From then on:
//! - no earlier title can appear: nothing is ever inserted before `head` (only
//!   foster parenting inserts before a node, and only before a `table`, which
//!   lives in `body`), and inside `head` new nodes are appended after it;
//! - its text cannot change: text goes to the current node (or before a
//!   table), and the title is no longer on the stack of open elements;
//! - it cannot move or leave the tree: only the adoption agency (formatting
//!   elements and their furthest block, never in `head`) and `<frameset>`
//!   (which removes `body`) take nodes out of their parent.
//!
//! A title inside `<template>` (its parent is the template's content), in
//! `body` (which a later `<frameset>` can remove), or in foreign content never
//! stops the parse early: the whole document is parsed, as before.

use std::rc::{Rc, Weak};

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagToken, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerResult,
};
use html5ever::tree_builder::{
    ElementFlags, NextParserState, NodeOrText, QuirksMode, TreeBuilder, TreeSink,
};
use html5ever::{Attribute, ExpandedName, QualName, local_name, namespace_url, ns};
use markup5ever_rcdom::{Handle, NodeData, RcDom};
use select::document::Document;
use select::node::{Data, Raw};

/// Input is fed to the tokenizer in pieces of this many bytes (at most), so
/// that a page whose title comes early is never copied whole.
const FIRST_PIECE: usize = 4 * 1024;

/// Pieces grow to this size while no title has been found.
const LARGEST_PIECE: usize = 64 * 1024;

/// Parses `html` with the HTML5 tree builder until its title is known, and
/// returns the tree built so far as a `select` document.
///
/// The document's first HTML `title` element is the same one, with the same
/// text, as in the document `select` builds from the whole text.
pub fn parse_until_title(html: &str) -> Document {
    let builder = TreeBuilder::new(TitleWatch::default(), Default::default());
    let mut tokenizer = Tokenizer::new(StopAfterTitle(builder), Default::default());
    let mut input = BufferQueue::new();
    let mut rest = html;
    let mut piece = FIRST_PIECE;
    while !rest.is_empty() {
        let (head, tail) = rest.split_at(char_boundary_at_most(rest, piece));
        rest = tail;
        piece = (piece * 2).min(LARGEST_PIECE);
        input.push_back(StrTendril::from_slice(head));
        while let TokenizerResult::Script(_) = tokenizer.feed(&mut input) {
            if tokenizer.sink.title_done() {
                return to_select(&tokenizer.sink.0.sink.dom);
            }
        }
    }
    tokenizer.end();
    to_select(&tokenizer.sink.0.sink.dom)
}

/// Whether `html` contains a `<title` start tag (ASCII case-insensitive):
/// without one the tree builder never creates a `title` element.
pub fn may_have_title(html: &str) -> bool {
    let bytes = html.as_bytes();
    let mut from = 0;
    while let Some(offset) = bytes[from..].iter().position(|&b| b == b'<') {
        let at = from + offset + 1;
        if bytes
            .get(at..at + 5)
            .is_some_and(|name| name.eq_ignore_ascii_case(b"title"))
        {
            return true;
        }
        from = at;
    }
    false
}

/// The largest index `<= at` that is a char boundary of `text` (and not 0
/// unless `text` is shorter than a char).
fn char_boundary_at_most(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (1..=at)
        .rev()
        .find(|&index| text.is_char_boundary(index))
        .unwrap_or(text.len())
}

/// The tree builder, made to suspend the tokenizer once the title is done.
struct StopAfterTitle(TreeBuilder<Handle, TitleWatch>);

impl StopAfterTitle {
    fn title_done(&self) -> bool {
        self.0.sink.title_done
    }
}

impl TokenSink for StopAfterTitle {
    type Handle = Handle;

    fn process_token(&mut self, token: Token, line_number: u64) -> TokenSinkResult<Handle> {
        let is_tag = matches!(token, TagToken(_));
        let result = self.0.process_token(token, line_number);
        // The tokenizer can suspend only after a tag (as it does for scripts);
        // a title ends with its end tag, so that is where it is found done.
        if is_tag && self.title_done() && matches!(result, TokenSinkResult::Continue) {
            return TokenSinkResult::Script(self.0.sink.dom.document.clone());
        }
        result
    }

    fn end(&mut self) {
        self.0.end();
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.0
            .adjusted_current_node_present_but_not_in_html_namespace()
    }
}

/// An `RcDom` that notices when the document's title is complete.
#[derive(Default)]
struct TitleWatch {
    dom: RcDom,
    title_done: bool,
}

impl TitleWatch {
    /// Whether `node` is an HTML `title` child of `head`, child of `html`,
    /// child of the document.
    fn is_head_title(&self, node: &Handle) -> bool {
        let parent_of = |node: &Handle| {
            let weak = node.parent.take();
            let parent = weak.as_ref().and_then(Weak::upgrade);
            node.parent.set(weak);
            parent
        };
        let is_html = |node: &Handle, local| {
            matches!(&node.data, NodeData::Element { name, .. }
                if name.ns == ns!(html) && name.local == local)
        };
        if !is_html(node, local_name!("title")) {
            return false;
        }
        let Some(head) = parent_of(node).filter(|head| is_html(head, local_name!("head"))) else {
            return false;
        };
        let Some(root) = parent_of(&head).filter(|root| is_html(root, local_name!("html"))) else {
            return false;
        };
        parent_of(&root).is_some_and(|document| Rc::ptr_eq(&document, &self.dom.document))
    }
}

impl TreeSink for TitleWatch {
    type Handle = Handle;
    type Output = RcDom;

    fn finish(self) -> RcDom {
        self.dom
    }

    fn parse_error(&mut self, _message: std::borrow::Cow<'static, str>) {}

    fn get_document(&mut self) -> Handle {
        self.dom.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a Handle) -> ExpandedName<'a> {
        self.dom.elem_name(target)
    }

    fn create_element(
        &mut self,
        name: QualName,
        attrs: Vec<Attribute>,
        flags: ElementFlags,
    ) -> Handle {
        self.dom.create_element(name, attrs, flags)
    }

    fn create_comment(&mut self, text: StrTendril) -> Handle {
        self.dom.create_comment(text)
    }

    fn create_pi(&mut self, target: StrTendril, data: StrTendril) -> Handle {
        self.dom.create_pi(target, data)
    }

    fn append(&mut self, parent: &Handle, child: NodeOrText<Handle>) {
        self.dom.append(parent, child);
    }

    fn append_based_on_parent_node(
        &mut self,
        element: &Handle,
        prev_element: &Handle,
        child: NodeOrText<Handle>,
    ) {
        self.dom
            .append_based_on_parent_node(element, prev_element, child);
    }

    fn append_doctype_to_document(
        &mut self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.dom
            .append_doctype_to_document(name, public_id, system_id);
    }

    fn mark_script_already_started(&mut self, node: &Handle) {
        self.dom.mark_script_already_started(node);
    }

    fn pop(&mut self, node: &Handle) {
        if !self.title_done && self.is_head_title(node) {
            self.title_done = true;
        }
    }

    fn get_template_contents(&mut self, target: &Handle) -> Handle {
        self.dom.get_template_contents(target)
    }

    fn same_node(&self, x: &Handle, y: &Handle) -> bool {
        self.dom.same_node(x, y)
    }

    fn set_quirks_mode(&mut self, mode: QuirksMode) {
        self.dom.set_quirks_mode(mode);
    }

    fn append_before_sibling(&mut self, sibling: &Handle, new_node: NodeOrText<Handle>) {
        self.dom.append_before_sibling(sibling, new_node);
    }

    fn add_attrs_if_missing(&mut self, target: &Handle, attrs: Vec<Attribute>) {
        self.dom.add_attrs_if_missing(target, attrs);
    }

    fn associate_with_form(
        &mut self,
        target: &Handle,
        form: &Handle,
        nodes: (&Handle, Option<&Handle>),
    ) {
        self.dom.associate_with_form(target, form, nodes);
    }

    fn remove_from_parent(&mut self, target: &Handle) {
        self.dom.remove_from_parent(target);
    }

    fn reparent_children(&mut self, node: &Handle, new_parent: &Handle) {
        self.dom.reparent_children(node, new_parent);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Handle) -> bool {
        self.dom.is_mathml_annotation_xml_integration_point(handle)
    }

    fn set_current_line(&mut self, line_number: u64) {
        self.dom.set_current_line(line_number);
    }

    fn complete_script(&mut self, node: &Handle) -> NextParserState {
        self.dom.complete_script(node)
    }
}

/// The tree under `dom` as a `select` document: the nodes `select` keeps
/// (elements, text, comments; not the doctype, processing instructions or
/// template contents), in tree order, laid out as `select::Document::from` does.
fn to_select(dom: &RcDom) -> Document {
    let mut nodes = Vec::new();
    let mut prev = None;
    for child in dom.document.children.borrow().iter() {
        prev = copy_node(&mut nodes, child, None, prev).or(prev);
    }
    Document { nodes }
}

/// Appends `node` and its subtree to `nodes`; returns its index, or `None`
/// for a node `select` does not keep.
fn copy_node(
    nodes: &mut Vec<Raw>,
    node: &Handle,
    parent: Option<usize>,
    prev: Option<usize>,
) -> Option<usize> {
    let data = match &node.data {
        NodeData::Text { contents } => Data::Text(contents.borrow().clone()),
        NodeData::Comment { contents } => Data::Comment(contents.clone()),
        NodeData::Element { name, attrs, .. } => Data::Element(
            name.clone(),
            attrs
                .borrow()
                .iter()
                .map(|attr| (attr.name.clone(), attr.value.clone()))
                .collect(),
        ),
        _ => return None,
    };
    let index = nodes.len();
    nodes.push(Raw {
        index,
        parent,
        prev,
        next: None,
        first_child: None,
        last_child: None,
        data,
    });
    if let Some(parent) = parent {
        let parent = &mut nodes[parent];
        parent.first_child.get_or_insert(index);
        parent.last_child = Some(index);
    }
    if let Some(prev) = prev {
        nodes[prev].next = Some(index);
    }
    let mut child_prev = None;
    for child in node.children.borrow().iter() {
        child_prev = copy_node(nodes, child, Some(index), child_prev).or(child_prev);
    }
    Some(index)
}
